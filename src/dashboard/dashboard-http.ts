import { randomBytes } from 'crypto';
import type { IncomingMessage, ServerResponse } from 'http';

/** The parts of a request the dashboard routes on. */
export interface DashboardRequest {
    request: IncomingMessage;
    response: ServerResponse;
    method: string;
    /** Below the dashboard's path, always starting with '/'. */
    route: string;
    query: URLSearchParams;
}

const strictPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** Headers on every answer: nothing is cached, framed or sniffed, and no URL leaves the site as a referrer. */
function secure(response: ServerResponse, policy = strictPolicy): void {
    response.setHeader('Content-Security-Policy', policy);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    response.setHeader('X-Frame-Options', 'DENY');
    // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on our own form posts.
    response.setHeader('Referrer-Policy', 'same-origin');
    response.setHeader('Cache-Control', 'no-store');
    response.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

export function send(response: ServerResponse, status: number, type: string, body: string | Buffer, headers: Record<string, string | string[]> = {}): void {
    secure(response);
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
}

export function sendHtml(response: ServerResponse, status: number, body: string, headers: Record<string, string | string[]> = {}): void {
    send(response, status, 'text/html; charset=utf-8', body, headers);
}

export function sendJson(response: ServerResponse, status: number, value: unknown): void {
    send(response, status, 'application/json; charset=utf-8', JSON.stringify(value));
}

export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string | string[]> = {}): void {
    send(response, status, 'text/plain; charset=utf-8', text + '\n', headers);
}

/** A page with one inline style allowed by a fresh nonce (the login form, which may load no asset). */
export function sendWithNonce(response: ServerResponse, status: number, page: (nonce: string) => string, headers: Record<string, string | string[]> = {}): void {
    const nonce = randomBytes(16).toString('base64');
    const body = page(nonce);
    secure(response, strictPolicy.replace("style-src 'self'", `style-src 'nonce-${nonce}'`));
    for (const [name, value] of Object.entries(headers)) response.setHeader(name, value);
    response.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
    response.end(body);
}

export function redirect(response: ServerResponse, location: string, headers: Record<string, string | string[]> = {}): void {
    send(response, 303, 'text/plain; charset=utf-8', '', { ...headers, Location: location });
}

export function wantsHtml(request: IncomingMessage): boolean {
    return String(request.headers.accept ?? '').includes('text/html');
}

const maxBody = 64 * 1024;

/** A form (urlencoded) or JSON body as fields; at most 64 KiB. */
export async function readFields(request: IncomingMessage & { readBody?: () => Promise<Buffer>, body?: Buffer }): Promise<URLSearchParams> {
    const body = request.body ?? await readBody(request);
    const text = body.toString('utf8');
    const type = String(request.headers['content-type'] ?? '');
    if (type.includes('application/json')) {
        const fields = new URLSearchParams();
        const value = text ? JSON.parse(text) : {};
        if (value && typeof value === 'object') for (const [name, field] of Object.entries(value)) fields.set(name, String(field));
        return fields;
    }
    return new URLSearchParams(text);
}

function readBody(request: IncomingMessage): Promise<Buffer> {
    return new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        request.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > maxBody) {
                reject(new Error('Request body too large'));
                request.destroy();
                return;
            }
            chunks.push(chunk);
        });
        request.on('end', () => resolve(Buffer.concat(chunks)));
        request.on('error', reject);
    });
}
