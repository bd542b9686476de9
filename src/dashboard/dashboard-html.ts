/**
 * HTML building blocks of the dashboard. Every value that reaches a page goes
 * through `escapeHtml` (text and attributes alike): a payload or an error
 * containing `<script>` is shown as text. Pages carry no inline script or
 * style; the Content-Security-Policy forbids them.
 */

export function escapeHtml(value: unknown): string {
    return String(value ?? '').replace(/[&<>"'`]/g, c => `&#${c.charCodeAt(0)};`);
}

/** A template tag that escapes every interpolated value, except `raw()` ones. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Raw {
    let out = strings[0];
    values.forEach((value, i) => {
        out += render(value) + strings[i + 1];
    });
    return new Raw(out);
}

export class Raw {
    constructor(readonly html: string) {
    }

    toString(): string {
        return this.html;
    }
}

export function raw(text: string): Raw {
    return new Raw(text);
}

function render(value: unknown): string {
    if (value instanceof Raw) return value.html;
    if (Array.isArray(value)) return value.map(render).join('');
    if (value === undefined || value === null || value === false) return '';
    return escapeHtml(value);
}

export function formatNumber(value: number | undefined): string {
    if (value === undefined || !Number.isFinite(value)) return '–';
    return value.toLocaleString('en-US', { maximumFractionDigits: value < 10 ? 2 : 0 });
}

export function formatTime(date: Date | undefined): string {
    if (!date) return '–';
    return date.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

export function formatAgo(date: Date, now = Date.now()): string {
    const seconds = Math.round((now - date.getTime()) / 1000);
    if (seconds < 60) return `${seconds}s ago`;
    if (seconds < 3600) return `${Math.round(seconds / 60)}m ago`;
    if (seconds < 86400) return `${Math.round(seconds / 3600)}h ago`;
    return `${Math.round(seconds / 86400)}d ago`;
}

export function formatMs(ms: number | undefined): string {
    if (ms === undefined) return '–';
    return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)} ms` : `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

export interface LayoutOptions {
    base: string;
    title: string;
    csrf: string;
    /** Show the log-out button: the user logged in with the form. */
    session: boolean;
    readOnly: boolean;
    flash?: string;
    body: Raw;
}

export function layout(options: LayoutOptions): string {
    const { base } = options;
    return '<!doctype html>' + html`<html lang="en"><head>
<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${options.title} · Queue dashboard</title>
<link rel="stylesheet" href="${base}/assets/uplot.css"><link rel="stylesheet" href="${base}/assets/dashboard.css">
<script src="${base}/assets/uplot.js" defer></script><script src="${base}/assets/dashboard.js" defer></script>
</head><body data-base="${base}">
<header><a class="brand" href="${base}/">Queue dashboard</a>
<nav><a href="${base}/">Overview</a><a href="${base}/metrics">Metrics</a></nav>
${options.readOnly ? html`<span class="badge">read-only</span>` : ''}
${options.session ? html`<form method="post" action="${base}/logout" class="logout"><input type="hidden" name="csrf" value="${options.csrf}"><button>Log out</button></form>` : ''}
</header>
<main>
${options.flash ? html`<p class="flash" role="status">${options.flash}</p>` : ''}
${options.body}
</main></body></html>`;
}

/** A POST form with the CSRF token; `fields` become hidden inputs. */
export function actionForm(base: string, csrf: string, action: string, fields: Record<string, string>, label: string, className = ''): Raw {
    return html`<form method="post" action="${base}/actions/${action}" class="inline">
<input type="hidden" name="csrf" value="${csrf}">${Object.entries(fields).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`)}
<button class="${className}">${label}</button></form>`;
}

/**
 * The page a request without valid credentials gets (status 401): it says
 * nothing about the queue. Its one style element is allowed by a nonce.
 */
export function loginPage(base: string, nonce: string, message?: string): string {
    return '<!doctype html>' + html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>Log in · Queue dashboard</title>
<style nonce="${nonce}">
body { font: 15px/1.4 system-ui, sans-serif; background: #f4f5f7; display: grid; place-items: center; min-height: 90vh; margin: 0; color: #1d2430; }
form { background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; display: grid; gap: .8rem; width: 20rem; }
input, button { font: inherit; padding: .5rem .6rem; border: 1px solid #c5cad3; border-radius: 4px; }
button { background: #2f5bd3; color: #fff; border-color: #2f5bd3; cursor: pointer; }
.error { color: #b3261e; margin: 0; }
</style></head><body>
<form method="post" action="${base}/login">
<h1>Queue dashboard</h1>
${message ? html`<p class="error" role="alert">${message}</p>` : ''}
<label>Token <input type="password" name="token" autocomplete="current-password" required autofocus></label>
<button>Log in</button>
</form></body></html>`;
}
