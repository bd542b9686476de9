import { createHash, createHmac, randomBytes, timingSafeEqual } from 'crypto';
import type { IncomingMessage } from 'http';

export const sessionCookie = 'dq_session';
const sessionLifetimeMs = 12 * 60 * 60_000;

/** Compares secrets in constant time, whatever their lengths. */
export function sameSecret(given: string, expected: string): boolean {
    const a = createHash('sha256').update(given).digest();
    const b = createHash('sha256').update(expected).digest();
    return timingSafeEqual(a, b);
}

/**
 * Signed, stateless sessions: the cookie is `<expiry>.<nonce>.<hmac>`, keyed
 * by the token, so changing the token ends every session. A CSRF token is
 * derived from the session; without a session (guard or Bearer) from a
 * secret of this process.
 */
export class DashboardSessions {
    protected readonly key: Buffer;

    constructor(token: string | undefined) {
        this.key = token === undefined ? randomBytes(32) : createHmac('sha256', token).update('deepkit-broker-queue dashboard session').digest();
    }

    create(now = Date.now()): string {
        const body = `${now + sessionLifetimeMs}.${randomBytes(16).toString('base64url')}`;
        return `${body}.${this.sign(body)}`;
    }

    /** True for an unexpired session this dashboard created. */
    verify(cookie: string | undefined, now = Date.now()): boolean {
        if (!cookie) return false;
        const parts = cookie.split('.');
        if (parts.length !== 3) return false;
        const body = `${parts[0]}.${parts[1]}`;
        if (!sameSecret(parts[2], this.sign(body))) return false;
        return Number(parts[0]) > now;
    }

    csrfToken(session: string | undefined): string {
        return this.sign(`csrf:${session ?? ''}`);
    }

    get lifetimeSeconds(): number {
        return sessionLifetimeMs / 1000;
    }

    protected sign(text: string): string {
        return createHmac('sha256', this.key).update(text).digest('base64url');
    }
}

export function readCookie(request: IncomingMessage, name: string): string | undefined {
    const header = request.headers.cookie;
    if (!header) return undefined;
    for (const part of header.split(';')) {
        const index = part.indexOf('=');
        if (index > 0 && part.slice(0, index).trim() === name) return decodeURIComponent(part.slice(index + 1).trim());
    }
    return undefined;
}

export function bearerToken(request: IncomingMessage): string | undefined {
    const header = request.headers.authorization;
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return match ? match[1] : header !== undefined ? '' : undefined;
}

/**
 * Slows down guessing: after `freeFailures` wrong tokens from one client
 * address, every further credential from it is refused (429) for a time
 * that doubles with each failure, up to `maxLockMs`, without being checked.
 * Refusing rather than delaying the answer also stops parallel guesses.
 * Failures are forgotten after `forgetMs` without any, or on a success.
 */
export class FailureLimiter {
    protected readonly clients = new Map<string, { failures: number, last: number, lockedUntil: number }>();

    constructor(
        protected readonly freeFailures = 5,
        protected readonly maxLockMs = 15 * 60_000,
        protected readonly forgetMs = 15 * 60_000,
        protected readonly maxClients = 10_000,
    ) {
    }

    /** Milliseconds the client must wait before a credential of it is checked again; 0 when it may try now. */
    lockedFor(client: string, now = Date.now()): number {
        const entry = this.clients.get(client);
        if (!entry) return 0;
        if (now - entry.last > this.forgetMs) {
            this.clients.delete(client);
            return 0;
        }
        return Math.max(0, entry.lockedUntil - now);
    }

    failed(client: string, now = Date.now()): void {
        let entry = this.clients.get(client);
        if (!entry || now - entry.last > this.forgetMs) entry = { failures: 0, last: now, lockedUntil: 0 };
        entry.failures++;
        entry.last = now;
        if (entry.failures >= this.freeFailures) {
            entry.lockedUntil = now + Math.min(this.maxLockMs, 1000 * 2 ** (entry.failures - this.freeFailures));
        }
        // Re-inserted, so the Map's order is the order of last failure: the oldest go first when it is full.
        this.clients.delete(client);
        this.clients.set(client, entry);
        if (this.clients.size > this.maxClients) this.clients.delete(this.clients.keys().next().value!);
    }

    succeeded(client: string): void {
        this.clients.delete(client);
    }
}

/** The client's address: the socket's, or with `trustProxy` the first of X-Forwarded-For. */
export function clientAddress(request: IncomingMessage, trustProxy: boolean): string {
    if (trustProxy) {
        const forwarded = request.headers['x-forwarded-for'];
        const first = (Array.isArray(forwarded) ? forwarded[0] : forwarded)?.split(',')[0].trim();
        if (first) return first;
    }
    return request.socket.remoteAddress ?? 'unknown';
}

export function isHttps(request: IncomingMessage, trustProxy: boolean): boolean {
    if ((request.socket as { encrypted?: boolean }).encrypted) return true;
    return trustProxy && String(request.headers['x-forwarded-proto'] ?? '').split(',')[0].trim() === 'https';
}

/**
 * A state-changing request must come from a page of this same origin: the
 * browser's Sec-Fetch-Site, else Origin (or Referer) compared with Host.
 * SameSite=Strict already keeps the session cookie off cross-site requests;
 * this also covers a guard that relies on the app's own cookies.
 */
export function isSameOrigin(request: IncomingMessage): boolean {
    // Browsers send Sec-Fetch-Site on every request (and cannot be made to lie); older ones send Origin.
    const site = request.headers['sec-fetch-site'];
    if (site !== undefined) return site === 'same-origin';
    const origin = request.headers.origin ?? request.headers.referer;
    if (!origin || origin === 'null') return false;
    try {
        return new URL(origin).host === request.headers.host;
    } catch {
        return false;
    }
}
