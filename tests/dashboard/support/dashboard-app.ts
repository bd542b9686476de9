import { App } from '@deepkit/app';
import { ClassType } from '@deepkit/core';
import { ApplicationServer, FrameworkModule } from '@deepkit/framework';
import { Logger, MemoryLogger } from '@deepkit/logger';
import type { Server } from 'http';
import { BrokerQueue, BrokerQueueConfig, BrokerQueueModule } from '../../../src';
import { tempDir } from '../../support/temp';

export const token = 'test-token-0123456789abcdef';

export interface DashboardAppOptions {
    config?: Partial<BrokerQueueConfig>;
    dashboard?: Partial<NonNullable<BrokerQueueConfig['dashboard']>>;
    providers?: any[];
    controllers?: ClassType[];
    guard?: ClassType<any>;
    framework?: ConstructorParameters<typeof FrameworkModule>[0];
}

/**
 * The module in a real Deepkit app with a real HTTP server on a free port of
 * 127.0.0.1, on a fresh SQLite file. `close()` stops the server and removes
 * the files.
 */
export async function startDashboardApp(options: DashboardAppOptions = {}) {
    const dir = tempDir('dbq-dashboard-');
    const logger = new MemoryLogger();
    const module = new BrokerQueueModule({
        sqlitePath: dir.file('queue.sqlite'),
        handleSignals: false,
        ...options.config,
        dashboard: { path: '/_queue', token, ...options.dashboard } as any,
    });
    if (options.guard) module.withDashboardGuard(options.guard);
    const app = new App({
        providers: [{ provide: Logger, useValue: logger }, ...(options.providers ?? [])],
        controllers: options.controllers ?? [],
        imports: [new FrameworkModule({ port: 0, host: '127.0.0.1', varPath: dir.file('var'), ...options.framework }), module],
    });
    const server = app.get(ApplicationServer);
    await server.start();
    const http = (server.getHttpWorker() as unknown as { server: Server }).server;
    if (!http.listening) await new Promise(resolve => http.once('listening', resolve));
    const port = (http.address() as { port: number }).port;
    const origin = `http://127.0.0.1:${port}`;
    const queue = app.get(BrokerQueue);
    return {
        app, queue, logger, origin, url: `${origin}/_queue`, dir,
        async close() {
            await server.close();
            await queue.close();
            dir.remove();
        },
    };
}

export type DashboardApp = Awaited<ReturnType<typeof startDashboardApp>>;

/** Logs in through the form like a browser would and returns the session cookie. */
export async function login(app: DashboardApp, secret = token): Promise<{ status: number, cookie?: string }> {
    const response = await fetch(`${app.url}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', origin: app.origin },
        body: new URLSearchParams({ token: secret }).toString(),
    });
    const setCookie = response.headers.get('set-cookie') ?? undefined;
    return { status: response.status, cookie: setCookie?.split(';')[0] };
}
