import type { IncomingMessage, ServerResponse } from 'http';
import { QueueLogger } from '../consumer';
import type { QueueMetrics } from '../metrics/queue-metrics';
import { BrokerQueue } from '../queue';
import { performAction } from './dashboard-actions';
import { dashboardAssets } from './dashboard-assets';
import {
    bearerToken, clientAddress, DashboardSessions, FailureLimiter, isHttps, isSameOrigin, readCookie, sameSecret, sessionCookie,
} from './dashboard-auth';
import {
    capabilities, chartSeries, ChartRange, consumersByChannel, latencySummary, ranges, readSchedules, storageOf,
} from './dashboard-data';
import { QueueDashboardGuard } from './dashboard-guard';
import { layout, loginPage, Raw } from './dashboard-html';
import { DashboardRequest, readFields, redirect, send, sendHtml, sendJson, sendText, sendWithNonce, wantsHtml } from './dashboard-http';
import { QueueDashboardOptionsResolved } from './dashboard-options';
import { channelPage, messagePage, overviewPage, PageContext } from './dashboard-pages';

/** How a request got in. A Bearer request carries no ambient credential, so it needs no CSRF check. */
export type DashboardAccess = { via: 'bearer' } | { via: 'session', session: string } | { via: 'guard' };

const pageSize = 50;
const flashes: Record<string, (n: string) => string> = {
    retried: n => `Retried ${n} message(s): they are pending again.`,
    purged: n => `Deleted ${n} message(s).`,
    paused: () => 'Paused: no message of the channel is delivered until it is resumed.',
    resumed: () => 'Resumed.',
    removed: () => 'Removed: the message was pending and is deleted.',
    cancelled: () => 'Cancelled: its running callback is aborted and the message is kept as failed (\'cancelled\').',
};

/**
 * The dashboard behind one path of the app's HTTP server: checks every
 * request (pages, JSON, assets, metrics, actions) before anything else, then
 * renders server-side HTML. Framework-free (Node's request and response), so
 * the Deepkit controller in dashboard-controller.ts only forwards to it.
 */
export class QueueDashboard {
    protected readonly sessions: DashboardSessions;
    protected readonly limiter = new FailureLimiter();

    constructor(
        readonly queue: BrokerQueue,
        readonly options: QueueDashboardOptionsResolved,
        protected readonly logger: QueueLogger,
        protected readonly metrics?: QueueMetrics,
        protected readonly guard?: QueueDashboardGuard,
    ) {
        this.sessions = new DashboardSessions(options.token);
    }

    get path(): string {
        return this.options.path;
    }

    async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
        const url = new URL(request.url ?? '/', 'http://dashboard');
        if (url.pathname !== this.path && !url.pathname.startsWith(this.path + '/')) return sendText(response, 404, 'Not found');
        const req: DashboardRequest = { request, response, method: request.method ?? 'GET', route: url.pathname.slice(this.path.length) || '/', query: url.searchParams };
        try {
            if (req.route === '/login' && req.method === 'POST') return await this.login(req);
            const access = await this.authenticate(req);
            if (!access) return;
            await this.route(req, access);
        } catch (error) {
            this.logger.error(`Queue dashboard: ${req.method} ${url.pathname} failed:`, error);
            if (!response.headersSent) sendText(response, 500, 'Internal error');
        }
    }

    /** The access of a request, or undefined after answering 401/429 (which says nothing about the queue). */
    protected async authenticate(req: DashboardRequest): Promise<DashboardAccess | undefined> {
        const { request, response } = req;
        if (this.guard && await this.guard.authorize(request)) return { via: 'guard' };
        const client = clientAddress(request, this.options.trustProxy);
        const bearer = bearerToken(request);
        if (bearer !== undefined) {
            const locked = this.limiter.lockedFor(client);
            if (locked) return this.tooMany(response, locked);
            if (this.options.token !== undefined && sameSecret(bearer, this.options.token)) {
                this.limiter.succeeded(client);
                return { via: 'bearer' };
            }
            this.limiter.failed(client);
            return this.unauthorized(req);
        }
        const session = readCookie(request, sessionCookie);
        if (this.options.token !== undefined && this.sessions.verify(session)) return { via: 'session', session: session! };
        return this.unauthorized(req);
    }

    protected unauthorized(req: DashboardRequest, message?: string): undefined {
        const headers = { 'WWW-Authenticate': 'Bearer realm="queue dashboard"' };
        if (this.options.token !== undefined && wantsHtml(req.request)) {
            sendWithNonce(req.response, 401, nonce => loginPage(this.path, nonce, message), headers);
        } else {
            sendText(req.response, 401, 'Unauthorized', headers);
        }
        return undefined;
    }

    protected tooMany(response: ServerResponse, lockedMs: number): undefined {
        const seconds = Math.ceil(lockedMs / 1000);
        sendText(response, 429, `Too many failed attempts; try again in ${seconds}s`, { 'Retry-After': String(seconds) });
        return undefined;
    }

    protected async login(req: DashboardRequest): Promise<void> {
        const { request, response } = req;
        // A login form posted from another site would log the victim into the attacker's session.
        if (!isSameOrigin(request)) return sendText(response, 403, 'Cross-site request refused');
        if (this.options.token === undefined) return sendText(response, 404, 'Not found');
        const client = clientAddress(request, this.options.trustProxy);
        const locked = this.limiter.lockedFor(client);
        if (locked) return void this.tooMany(response, locked);
        const fields = await readFields(request);
        if (!sameSecret(fields.get('token') ?? '', this.options.token)) {
            this.limiter.failed(client);
            return void this.unauthorized(req, 'Wrong token.');
        }
        this.limiter.succeeded(client);
        const secure = isHttps(request, this.options.trustProxy) ? '; Secure' : '';
        const cookie = `${sessionCookie}=${this.sessions.create()}; Path=${this.path}; Max-Age=${this.sessions.lifetimeSeconds}; HttpOnly; SameSite=Strict${secure}`;
        redirect(response, `${this.path}/`, { 'Set-Cookie': cookie });
    }

    protected async route(req: DashboardRequest, access: DashboardAccess): Promise<void> {
        const { route, method, response } = req;
        if (method === 'POST') {
            if (route === '/logout') return this.logout(req, access);
            if (route.startsWith('/actions/')) return this.action(req, access, route.slice('/actions/'.length));
            return sendText(response, 405, 'Method not allowed', { Allow: 'GET' });
        }
        if (method !== 'GET') return sendText(response, 405, 'Method not allowed', { Allow: 'GET, POST' });
        if (route.startsWith('/assets/')) {
            const asset = dashboardAssets().get(route.slice('/assets/'.length));
            return asset ? send(response, 200, asset.type, asset.body) : sendText(response, 404, 'Not found');
        }
        switch (route) {
            case '/': return this.page(req, access, 'Overview', () => this.overview(req, access));
            case '/channel': return this.page(req, access, req.query.get('name') ?? '', () => this.channel(req, access));
            case '/message': return this.page(req, access, `Message ${req.query.get('id') ?? ''}`, () => this.message(req, access));
            case '/api/overview': return this.overviewJson(req);
            case '/api/history': return this.historyJson(req);
            case '/metrics': return this.metricsText(req);
        }
        sendText(response, 404, 'Not found');
    }

    protected context(access: DashboardAccess): PageContext {
        const session = access.via === 'session' ? access.session : undefined;
        return { base: this.path, csrf: this.sessions.csrfToken(session), readOnly: this.options.readOnly, capabilities: capabilities(this.queue) };
    }

    protected async page(req: DashboardRequest, access: DashboardAccess, title: string, body: () => Promise<Raw | undefined>): Promise<void> {
        const content = await body();
        if (!content) return sendText(req.response, 404, 'Not found');
        const flash = flashes[req.query.get('flash') ?? '']?.(String(Number(req.query.get('n') ?? 0)));
        const context = this.context(access);
        sendHtml(req.response, 200, layout({ base: this.path, title, csrf: context.csrf, session: access.via === 'session', readOnly: this.options.readOnly, flash, body: content }));
    }

    protected async overview(req: DashboardRequest, access: DashboardAccess): Promise<Raw> {
        const storage = await storageOf(this.queue);
        const [stats, consumers, schedules] = await Promise.all([storage.stats(), storage.listConsumers(), readSchedules(this.queue)]);
        return overviewPage(this.context(access), stats, consumers, schedules);
    }

    protected async channel(req: DashboardRequest, access: DashboardAccess): Promise<Raw | undefined> {
        const name = req.query.get('name');
        if (!name) return undefined;
        const search = req.query.get('q') ?? '';
        const page = Math.max(1, Math.floor(Number(req.query.get('page')) || 1));
        const storage = await storageOf(this.queue);
        const [[stats], history, consumers, failed] = await Promise.all([
            storage.stats(name),
            storage.history({ since: 60 * 60_000, channel: name }),
            storage.listConsumers(),
            storage.searchFailed(name, { search, limit: pageSize, offset: (page - 1) * pageSize }),
        ]);
        return channelPage(this.context(access), stats, latencySummary(history), consumersByChannel(consumers).get(name) ?? [],
            { search, page, pageSize, total: failed.total, messages: failed.messages });
    }

    protected async message(req: DashboardRequest, access: DashboardAccess): Promise<Raw | undefined> {
        const id = req.query.get('id');
        const message = id ? await (await storageOf(this.queue)).getMessage(id) : undefined;
        return message && messagePage(this.context(access), message);
    }

    protected async overviewJson(req: DashboardRequest): Promise<void> {
        const storage = await storageOf(this.queue);
        const [channels, consumers] = await Promise.all([storage.stats(), storage.listConsumers()]);
        sendJson(req.response, 200, { channels, consumers, capabilities: capabilities(this.queue) });
    }

    protected async historyJson(req: DashboardRequest): Promise<void> {
        const channel = req.query.get('channel');
        const range = (req.query.get('range') ?? 'hour') as ChartRange;
        if (!channel || !(range in ranges)) return sendText(req.response, 400, "Give 'channel' and 'range' (hour or day)");
        const minutes = await (await storageOf(this.queue)).history({ since: ranges[range].minutes * 60_000, channel });
        sendJson(req.response, 200, chartSeries(minutes, range));
    }

    protected async metricsText(req: DashboardRequest): Promise<void> {
        if (!this.metrics) return sendText(req.response, 404, "Metrics need the 'prom-client' package (npm install prom-client) and the module's 'metrics' option on");
        send(req.response, 200, this.metrics.contentType, await this.metrics.metrics());
    }

    protected async logout(req: DashboardRequest, access: DashboardAccess): Promise<void> {
        if (!await this.checkCsrf(req, access)) return;
        redirect(req.response, `${this.path}/`, { 'Set-Cookie': `${sessionCookie}=; Path=${this.path}; Max-Age=0; HttpOnly; SameSite=Strict` });
    }

    /** Same origin, and (unless Bearer) the page's CSRF token. Answers 403 and returns undefined otherwise. */
    protected async checkCsrf(req: DashboardRequest, access: DashboardAccess): Promise<URLSearchParams | undefined> {
        if (access.via !== 'bearer' && !isSameOrigin(req.request)) return void sendText(req.response, 403, 'Cross-site request refused');
        const fields = await readFields(req.request);
        const expected = this.sessions.csrfToken(access.via === 'session' ? access.session : undefined);
        if (access.via !== 'bearer' && !sameSecret(fields.get('csrf') ?? '', expected)) return void sendText(req.response, 403, 'Missing or wrong CSRF token; reload the page');
        return fields;
    }

    protected async action(req: DashboardRequest, access: DashboardAccess, name: string): Promise<void> {
        if (this.options.readOnly) return sendText(req.response, 403, 'The dashboard is read-only');
        const fields = await this.checkCsrf(req, access);
        if (!fields) return;
        const outcome = await performAction(this.queue, capabilities(this.queue), name, fields);
        if (outcome.status !== 303) return sendText(req.response, outcome.status, outcome.message);
        if (outcome.confirm) {
            const body = outcome.confirm(this.context(access));
            return sendHtml(req.response, 200, layout({ base: this.path, title: 'Confirm', csrf: this.context(access).csrf, session: access.via === 'session', readOnly: false, body }));
        }
        const back = fields.get('return');
        const target = back && back.startsWith('/') && !back.startsWith('//') ? back : `/channel?name=${encodeURIComponent(fields.get('channel') ?? '')}`;
        if (access.via === 'bearer') return sendJson(req.response, 200, { done: outcome.flash, count: outcome.count });
        redirect(req.response, `${this.path}${target}${target.includes('?') ? '&' : '?'}flash=${outcome.flash}&n=${outcome.count ?? 0}`);
    }
}
