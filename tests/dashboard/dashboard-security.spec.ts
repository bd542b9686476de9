import { App } from '@deepkit/app';
import { FrameworkModule } from '@deepkit/framework';
import { http, HttpRequest } from '@deepkit/http';
import { BrokerQueueModule, QueueDashboardGuard, QueueOptionError } from '../../src';
import { tempDir } from '../support/temp';
import { DashboardApp, login, startDashboardApp, token } from './support/dashboard-app';

/** Every kind of route the dashboard has, plus some it has not. */
const routes: [string, string][] = [
    ['GET', '/_queue'], ['GET', '/_queue/'], ['GET', '/_queue/channel?name=secret-channel'], ['GET', '/_queue/message?id=1'],
    ['GET', '/_queue/api/overview'], ['GET', '/_queue/api/history?channel=secret-channel&range=hour'], ['GET', '/_queue/metrics'],
    ['GET', '/_queue/assets/dashboard.js'], ['GET', '/_queue/assets/dashboard.css'], ['GET', '/_queue/assets/uplot.js'], ['GET', '/_queue/assets/uplot.css'],
    ['GET', '/_queue/assets/missing.js'], ['GET', '/_queue/no/such/page'], ['DELETE', '/_queue/'],
    ['POST', '/_queue/actions/retry'], ['POST', '/_queue/actions/purge'], ['POST', '/_queue/logout'],
];

async function failOne(app: DashboardApp, channel: string, data: string): Promise<string> {
    const { id } = await app.queue.channel<string>(channel, { maxAttempts: 1 }).produce(data);
    const storage = app.queue.adapter;
    await storage.registerConsumer({ id: 'setup', channel, host: 'h', pid: process.pid });
    await storage.claim(channel, 'setup', 1, 10_000);
    await storage.settle([{ kind: 'fail', id, consumerId: 'setup', error: 'it broke' }]);
    await storage.unregisterConsumer('setup');
    return id;
}

describe('dashboard security', () => {
    let app: DashboardApp;

    beforeEach(async () => {
        app = await startDashboardApp();
        await failOne(app, 'secret-channel', 'secret payload');
    });
    afterEach(() => app.close());

    test('without credentials every route answers 401 and shows nothing of the queue, assets included', async () => {
        for (const [method, path] of routes) {
            for (const accept of ['text/html', '*/*']) {
                const response = await fetch(app.origin + path, { method, headers: { accept, origin: app.origin }, redirect: 'manual' });
                const body = await response.text();
                expect([method, path, accept, response.status]).toEqual([method, path, accept, 401]);
                expect(body).not.toContain('secret');
                expect(response.headers.get('cache-control')).toBe('no-store');
            }
        }
        // An HTML request gets the login form, with nothing else on it.
        const page = await (await fetch(`${app.url}/`, { headers: { accept: 'text/html' } })).text();
        expect(page).toContain('name="token"');
        expect(page).not.toContain('Channels');
    });

    test('a wrong Bearer token, a forged cookie or a wrong login get 401', async () => {
        const attempts: Record<string, string>[] = [{ authorization: 'Bearer wrong-token-0123456789abcdef' }, { authorization: 'Basic abc' }, { cookie: 'dq_session=9999999999999.abc.def' }];
        for (const headers of attempts) {
            const response = await fetch(`${app.url}/api/overview`, { headers });
            expect(response.status).toBe(401);
            expect(await response.text()).toBe('Unauthorized\n');
        }
        const wrong = await login(app, 'not-the-token-at-all');
        expect(wrong).toEqual({ status: 401, cookie: undefined });
    });

    test('the right Bearer token or a login session opens every page; the session cookie is HttpOnly and SameSite=Strict', async () => {
        const bearer = { authorization: `Bearer ${token}` };
        for (const [method, path] of routes.filter(([m, p]) => m === 'GET' && !p.includes('missing') && !p.includes('no/such'))) {
            const response = await fetch(app.origin + path, { method, headers: bearer });
            expect([path, response.status]).toEqual([path, 200]);
        }
        expect((await fetch(`${app.url}/no/such/page`, { headers: bearer })).status).toBe(404);

        const response = await fetch(`${app.url}/login`, {
            method: 'POST', redirect: 'manual',
            headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.origin },
            body: `token=${token}`,
        });
        expect(response.status).toBe(303);
        const cookie = response.headers.get('set-cookie')!;
        expect(cookie).toMatch(/^dq_session=[^;]+; Path=\/_queue; Max-Age=43200; HttpOnly; SameSite=Strict$/);
        const overview = await fetch(`${app.url}/`, { headers: { cookie: cookie.split(';')[0] } });
        expect(overview.status).toBe(200);
        expect(await overview.text()).toContain('secret-channel');
    });

    test('repeated wrong tokens are slowed down: after 5, every credential from that client is refused for a while (429)', async () => {
        for (let i = 0; i < 5; i++) {
            expect((await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer guess-${i}-0123456789abcdef` } })).status).toBe(401);
        }
        const locked = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        expect(locked.status).toBe(429);
        expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
        expect((await login(app)).status).toBe(429);
    });

    test('a cross-site POST is refused, so is one without the page\'s CSRF token; a same-site one with it works', async () => {
        const { cookie } = await login(app);
        const page = await (await fetch(`${app.url}/channel?name=secret-channel`, { headers: { cookie: cookie! } })).text();
        const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1];
        const post = (headers: Record<string, string>, body: Record<string, string>) => fetch(`${app.url}/actions/retry`, {
            method: 'POST', redirect: 'manual',
            headers: { cookie: cookie!, 'content-type': 'application/x-www-form-urlencoded', ...headers },
            body: new URLSearchParams(body).toString(),
        });
        expect((await post({ origin: 'https://evil.example' }, { channel: 'secret-channel', csrf })).status).toBe(403);
        expect((await post({ origin: app.origin, 'sec-fetch-site': 'cross-site' }, { channel: 'secret-channel', csrf })).status).toBe(403);
        expect((await post({}, { channel: 'secret-channel', csrf })).status).toBe(403);
        expect((await post({ origin: app.origin }, { channel: 'secret-channel' })).status).toBe(403);
        expect((await post({ origin: app.origin }, { channel: 'secret-channel', csrf: 'x' + csrf })).status).toBe(403);
        expect((await app.queue.stats('secret-channel'))[0].failed).toBe(1);

        const done = await post({ origin: app.origin }, { channel: 'secret-channel', csrf });
        expect(done.status).toBe(303);
        expect(done.headers.get('location')).toBe('/_queue/channel?name=secret-channel&flash=retried&n=1');
        expect((await app.queue.stats('secret-channel'))[0]).toMatchObject({ failed: 0, pending: 1 });
    });

    test('an API client with the Bearer token needs no CSRF token and gets JSON back', async () => {
        const response = await fetch(`${app.url}/actions/retry`, {
            method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'secret-channel' }),
        });
        expect(response.status).toBe(200);
        expect(await response.json()).toEqual({ done: 'retried', count: 1 });
    });
});

describe('dashboard configuration', () => {
    test('no token: the app refuses to start and says how to set one; a short token is refused too', () => {
        const dir = tempDir();
        try {
            for (const [dashboard, message] of [
                [{ path: '/_queue' }, /no token.*APP_BROKER_QUEUE_DASHBOARD_TOKEN/],
                [{ path: '/_queue', token: 'short' }, /at least 16 characters/],
                [{ path: '/', token }, /must not be the root/],
            ] as const) {
                const app = new App({ imports: [new FrameworkModule({ varPath: dir.file('var') }), new BrokerQueueModule({ sqlitePath: dir.file('q.sqlite'), dashboard: dashboard as any })] });
                let error: unknown;
                try {
                    app.get(BrokerQueueModule as any);
                } catch (e) {
                    error = e;
                }
                expect(error).toBeInstanceOf(QueueOptionError);
                expect(String((error as Error).message)).toMatch(message);
            }
        } finally {
            dir.remove();
        }
    });

    test('read-only: pages show no action, and actions are refused even with the Bearer token', async () => {
        const app = await startDashboardApp({ dashboard: { readOnly: true } });
        try {
            await failOne(app, 'jobs', 'x');
            const page = await (await fetch(`${app.url}/channel?name=jobs`, { headers: { authorization: `Bearer ${token}` } })).text();
            expect(page).toContain('read-only');
            expect(page).not.toContain('/actions/');
            const response = await fetch(`${app.url}/actions/retry`, {
                method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'jobs' }),
            });
            expect(response.status).toBe(403);
            expect((await app.queue.stats('jobs'))[0].failed).toBe(1);
        } finally {
            await app.close();
        }
    });

    test('the app\'s own guard (with its own services injected) decides instead of the token', async () => {
        class AdminSessions {
            isAdmin(request: HttpRequest) {
                return request.headers['x-admin'] === 'yes';
            }
        }
        class AdminGuard implements QueueDashboardGuard {
            constructor(private sessions: AdminSessions) {
            }

            authorize(request: HttpRequest) {
                return this.sessions.isAdmin(request);
            }
        }
        const app = await startDashboardApp({ dashboard: { token: '' }, guard: AdminGuard, providers: [AdminSessions] });
        try {
            expect((await fetch(`${app.url}/api/overview`)).status).toBe(401);
            expect((await fetch(`${app.url}/assets/dashboard.js`)).status).toBe(401);
            expect((await fetch(`${app.url}/api/overview`, { headers: { 'x-admin': 'yes' } })).status).toBe(200);
            // Its actions still need a same-origin page's CSRF token: the app's cookies go with cross-site requests.
            const page = await (await fetch(`${app.url}/`, { headers: { 'x-admin': 'yes' } })).text();
            expect(page).not.toContain('Log out');
            const refused = await fetch(`${app.url}/actions/retry`, { method: 'POST', headers: { 'x-admin': 'yes', origin: 'https://evil.example' }, body: '' });
            expect(refused.status).toBe(403);
        } finally {
            await app.close();
        }
    });

    test('off by default; the environment turns it on like every field', async () => {
        class Ping {
            @http.GET('/ping')
            ping() {
                return 'pong';
            }
        }
        const dir = tempDir();
        const make = () => new App({
            controllers: [Ping],
            imports: [new FrameworkModule({ varPath: dir.file('var') }), new BrokerQueueModule({ sqlitePath: dir.file('q.sqlite'), handleSignals: false })],
        });
        try {
            const { HttpKernel, HttpRequest: Request } = require('@deepkit/http');
            const off = make();
            expect((await off.get(HttpKernel).request(Request.GET('/_queue/'))).statusCode).toBe(404);
            process.env.APP_BROKER_QUEUE_DASHBOARD_TOKEN = token;
            process.env.APP_BROKER_QUEUE_DASHBOARD_PATH = '/ops/queue';
            const on = make();
            on.loadConfigFromEnv();
            const kernel = on.get(HttpKernel);
            expect((await kernel.request(Request.GET('/ops/queue/'))).statusCode).toBe(401);
            expect((await kernel.request(Request.GET('/ops/queue/api/overview').header('authorization', `Bearer ${token}`))).statusCode).toBe(200);
        } finally {
            delete process.env.APP_BROKER_QUEUE_DASHBOARD_TOKEN;
            delete process.env.APP_BROKER_QUEUE_DASHBOARD_PATH;
            dir.remove();
        }
    });
});
