/**
 * How long the dashboard takes to load in headless Chromium with 100,000
 * messages stored (BENCH_DASHBOARD_MESSAGES): 90 % pending, 10 % failed, on
 * SQLite. Overview, and a channel page until both charts are drawn; each
 * BENCH_REPEAT times after one warm-up, medians. `npm run bench:dashboard`.
 */
import { App } from '@deepkit/app';
import { ApplicationServer, FrameworkModule } from '@deepkit/framework';
import { mkdtempSync, rmSync } from 'fs';
import type { Server } from 'http';
import { tmpdir } from 'os';
import { join } from 'path';
import { chromium } from 'playwright-core';
import { BrokerQueue, BrokerQueueModule } from '../../src';
import { settings } from '../lib/settings';
import { silentLogger } from '../lib/silent-logger';

const total = Number(process.env.BENCH_DASHBOARD_MESSAGES ?? 100_000);
const token = 'bench-token-0123456789abcdef';

async function main(): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'dbq-bench-dash-'));
    const app = new App({
        providers: [],
        imports: [new FrameworkModule({ port: 0, host: '127.0.0.1', varPath: join(dir, 'var') }),
            new BrokerQueueModule({ sqlitePath: join(dir, 'queue.sqlite'), durability: 'normal', handleSignals: false, dashboard: { path: '/_queue', token } as any })],
    });
    const queue = app.get(BrokerQueue);
    (queue as any).logger = silentLogger;
    const failedCount = Math.round(total / 10);
    const channel = queue.channel<{ n: number, to: string }>('emails', { maxAttempts: 1 });
    for (let i = 0; i < total; i += 1000) await channel.produceMany(Array.from({ length: 1000 }, (_, j) => ({ n: i + j, to: `user${i + j}@example.com` })));
    const storage = queue.adapter;
    await storage.registerConsumer({ id: 'bench', channel: 'emails', host: 'h', pid: process.pid });
    for (let left = failedCount; left > 0; left -= 1000) {
        const claimed = await storage.claim('emails', 'bench', Math.min(1000, left), 60_000);
        await storage.settle(claimed.map(v => ({ kind: 'fail' as const, id: v.id, consumerId: 'bench', error: `SMTP 550 for message ${v.id}` })));
    }
    await storage.unregisterConsumer('bench');
    const stats = (await queue.stats('emails'))[0];
    console.log(`stored: ${stats.pending.toLocaleString('en-US')} pending, ${stats.failed.toLocaleString('en-US')} failed`);

    const server = app.get(ApplicationServer);
    await server.start();
    const http = (server.getHttpWorker() as unknown as { server: Server }).server;
    if (!http.listening) await new Promise(resolve => http.once('listening', resolve));
    const url = `http://127.0.0.1:${(http.address() as { port: number }).port}/_queue`;
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    try {
        const page = await browser.newPage();
        await page.goto(`${url}/`);
        await page.fill('input[name="token"]', token);
        await Promise.all([page.waitForURL(`${url}/`), page.click('button')]);
        const times: Record<string, number[]> = { overview: [], channel: [] };
        for (let round = 0; round <= settings.repeat; round++) {
            let start = performance.now();
            await page.goto(`${url}/`, { waitUntil: 'load' });
            const overview = performance.now() - start;
            start = performance.now();
            await page.goto(`${url}/channel?name=emails`, { waitUntil: 'load' });
            await page.waitForSelector('.charts[data-drawn="hour"] canvas');
            const channelPage = performance.now() - start;
            if (round === 0) continue;
            times.overview.push(overview);
            times.channel.push(channelPage);
        }
        const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
        console.log(`\n| dashboard, ${total.toLocaleString('en-US')} messages (SQLite) | median of ${settings.repeat} |\n| --- | ---: |`);
        console.log(`| overview, navigation to load event | ${median(times.overview).toFixed(0)} ms |`);
        console.log(`| channel page (50 failed of ${failedCount.toLocaleString('en-US')}), until both charts are drawn | ${median(times.channel).toFixed(0)} ms |`);
    } finally {
        await browser.close();
        await server.close();
        await queue.close();
        rmSync(dir, { recursive: true, force: true });
    }
}

main().then(() => process.exit(0), error => {
    console.error(error);
    process.exit(1);
});
