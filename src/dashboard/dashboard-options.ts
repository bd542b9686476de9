import { QueueOptionError } from '../errors';

export interface QueueDashboardOptions {
    /** URL path. Default `'/_queue'`. */
    path?: string;
    /** Login and Bearer secret, at least 16 characters; optional only with a guard. */
    token?: string;
    /** No actions. Default false. */
    readOnly?: boolean;
    /** Trust X-Forwarded-For and X-Forwarded-Proto. Default false. */
    trustProxy?: boolean;
    /** The app plugs in its own guard (`withDashboardGuard`). */
    guard?: boolean;
}

export interface QueueDashboardOptionsResolved {
    /** Normalized: leading slash, no trailing slash. */
    path: string;
    token?: string;
    readOnly: boolean;
    trustProxy: boolean;
    guard: boolean;
}

export const minimumTokenLength = 16;

/**
 * Checks the dashboard options once, at startup. Without a token and without a
 * guard of the app's own the dashboard would be open to anyone who finds it:
 * that is an error that says how to set one.
 */
export function parseDashboardOptions(options: QueueDashboardOptions): QueueDashboardOptionsResolved {
    const raw = options.path ?? '/_queue';
    if (typeof raw !== 'string' || !/^\/?[A-Za-z0-9._~\-/]*$/.test(raw)) {
        throw new QueueOptionError(`Option 'dashboard.path' must be a URL path such as '/_queue', got ${JSON.stringify(raw)}`);
    }
    const path = ('/' + raw.replace(/^\/+|\/+$/g, '')).replace(/\/{2,}/g, '/');
    if (path === '/') throw new QueueOptionError(`Option 'dashboard.path' must not be the root '/': the dashboard claims every URL below its path`);
    const token = options.token || undefined;
    const guard = options.guard ?? false;
    if (token === undefined && !guard) {
        throw new QueueOptionError(
            `The queue dashboard is enabled but has no token, so anyone could open it. Set one of at least ${minimumTokenLength} characters: `
            + `BrokerQueueModule({ dashboard: { path: '${path}', token: process.env.QUEUE_DASHBOARD_TOKEN } }) or the environment variable `
            + `APP_BROKER_QUEUE_DASHBOARD_TOKEN=$(openssl rand -hex 24) with app.loadConfigFromEnv(); or plug in your own auth with withDashboardGuard(YourGuard).`,
        );
    }
    if (token !== undefined && (typeof token !== 'string' || token.length < minimumTokenLength)) {
        throw new QueueOptionError(`Option 'dashboard.token' must be at least ${minimumTokenLength} characters (e.g. \`openssl rand -hex 24\`), got ${typeof token === 'string' ? token.length : typeof token} characters`);
    }
    return { path, token, readOnly: options.readOnly ?? false, trustProxy: options.trustProxy ?? false, guard };
}
