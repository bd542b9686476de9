import { join } from 'path';
import { Browser, Page } from 'playwright-core';
import { QueueStorageAdapter, SqliteQueueAdapter } from '../../src';
import { deferred } from '../support/wait';
import { launchBrowser, testOutput } from './support/browser';
import { DashboardApp, startDashboardApp, token } from './support/dashboard-app';
import { tempDir } from '../support/temp';

type Email = { to: string, body: string };

const xss = '<script>window.__xss = 1</script><b>bold</b>';

describe('dashboard in a real browser', () => {
    let browser: Browser;
    let app: DashboardApp;
    let adapter: SqliteQueueAdapter;
    let page: Page;
    let errors: string[];
    const dir = tempDir();

    beforeAll(async () => {
        browser = await launchBrowser();
        adapter = new SqliteQueueAdapter({ path: dir.file('queue.sqlite') });
        app = await startDashboardApp({ providers: [{ provide: QueueStorageAdapter, useValue: adapter }] });
        const emails = app.queue.channel<Email>('emails', { maxAttempts: 1 });
        // History for the charts: 20 sent, 2 of them fail (one with HTML in its payload).
        await emails.produceMany(Array.from({ length: 20 }, (_, i) => ({ to: `user${i}@example.com`, body: i === 7 ? xss : `hello ${i}` })));
        const done = deferred();
        let seen = 0;
        const release = await emails.consume(email => {
            if (++seen === 20) setImmediate(done.resolve);
            if (email.body === xss || email.to === 'user3@example.com') throw new Error(`SMTP 550 for ${email.to} <rejected>`);
        });
        await done.promise;
        await release();
        // Left waiting: 3 pending emails, 1 delayed report.
        await emails.produceMany([1, 2, 3].map(i => ({ to: `later${i}@example.com`, body: 'later' })));
        await app.queue.channel<{ month: string }>('reports').produce({ month: '2024-05' }, { delay: '1h' });
    });

    afterAll(async () => {
        await browser?.close();
        await app?.close();
        dir.remove();
    });

    beforeEach(async () => {
        page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
        errors = [];
        page.on('pageerror', error => errors.push(String(error)));
        // The login form comes with status 401: Chromium logs that as a failed load.
        page.on('console', message => { if (message.type() === 'error' && !message.text().includes('status of 401')) errors.push(message.text()); });
    });
    afterEach(async () => {
        await page.close();
        expect(errors).toEqual([]);
    });

    async function logIn(): Promise<void> {
        const response = await page.goto(`${app.url}/`);
        expect(response!.status()).toBe(401);
        await page.fill('input[name="token"]', token);
        await Promise.all([page.waitForURL(`${app.url}/`), page.click('button:has-text("Log in")')]);
    }

    const cell = (channel: string, field: string) => page.locator(`[data-stat="${channel}"][data-field="${field}"]`).first();

    test('log in, and the overview shows what the storage holds', async () => {
        await page.goto(`${app.url}/`);
        await page.fill('input[name="token"]', 'wrong-token-0123456789');
        await page.click('button:has-text("Log in")');
        await expect(page.locator('.error').textContent()).resolves.toContain('Wrong token');
        await logIn();
        const stats = await app.queue.stats();
        expect(stats.map(v => v.channel)).toEqual(['emails', 'reports']);
        for (const v of stats) {
            for (const field of ['pending', 'delayed', 'inFlight', 'failed', 'doneLastHour'] as const) {
                expect([v.channel, field, await cell(v.channel, field).textContent()]).toEqual([v.channel, field, v[field].toLocaleString('en-US')]);
            }
        }
        expect(await cell('emails', 'failed').textContent()).toBe('2');
        expect(await cell('reports', 'delayed').textContent()).toBe('1');
        expect(await page.locator('table.channels td:has-text("running")').count()).toBe(2);
        await page.screenshot({ path: join(testOutput, 'overview.png'), fullPage: true });
    });

    test('a channel page draws its charts and shows a payload with HTML as text, in the list and in the detail', async () => {
        await logIn();
        await page.click('a:has-text("emails")');
        await page.waitForSelector('.charts[data-drawn="hour"] canvas');
        expect(await page.locator('.chart canvas').count()).toBe(2);
        const payload = page.locator('code.payload', { hasText: '<script>' });
        expect(await payload.textContent()).toContain(xss.replace(/"/g, '\\"'));
        expect(await payload.locator('b').count()).toBe(0);
        expect(await page.locator('td.error', { hasText: '<rejected>' }).count()).toBe(2);
        expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
        await page.screenshot({ path: join(testOutput, 'channel.png'), fullPage: true });

        await page.click('button[data-range="day"]');
        await page.waitForSelector('.charts[data-drawn="day"] canvas');

        await page.locator('tr', { hasText: '<script>' }).locator('a').first().click();
        await page.waitForSelector('pre.payload');
        expect(await page.locator('pre.payload').textContent()).toContain(xss);
        expect(await page.locator('pre.error').textContent()).toContain('SMTP 550 for user7@example.com <rejected>');
        expect(await page.evaluate(() => (globalThis as any).__xss)).toBeUndefined();
        await page.screenshot({ path: join(testOutput, 'message.png'), fullPage: true });
    });

    test('search the failed list, retry one message and watch it leave the list', async () => {
        await logIn();
        await page.goto(`${app.url}/channel?name=emails`);
        await page.fill('input[name="q"]', 'user3@');
        await page.click('button:has-text("Search")');
        expect(await page.locator('table.failed tbody tr').count()).toBe(1);
        await page.goto(`${app.url}/channel?name=emails`);
        const [first] = (await app.queue.listFailed('emails')).filter(v => !Buffer.from(v.payload).includes('script'));
        const row = page.locator(`table.failed tr[data-id="${first.id}"]`);
        expect(await row.count()).toBe(1);
        await Promise.all([page.waitForURL(/flash=retried/), row.locator('button:has-text("Retry")').click()]);
        expect(await page.locator('.flash').textContent()).toContain('Retried 1 message');
        expect(await page.locator(`table.failed tr[data-id="${first.id}"]`).count()).toBe(0);
        expect(await page.locator('table.failed tbody tr').count()).toBe(1);
        const [stats] = await app.queue.stats('emails');
        expect(stats).toMatchObject({ failed: 1, pending: 4 });
        expect(await page.locator('[data-field="failed"]').first().textContent()).toBe('1');
    });

    test('pause and resume a channel (persisted in the real SQLite storage), purge failed after a confirmation', async () => {
        await logIn();
        await page.goto(`${app.url}/channel?name=emails`);
        await Promise.all([page.waitForURL(/flash=paused/), page.click('button:has-text("Pause")')]);
        expect((await app.queue.stats('emails'))[0].paused).toBe(true);
        expect(await page.locator('h1 .badge.paused').count()).toBe(1);
        await page.goto(`${app.url}/`);
        expect(await page.locator('table.channels tr', { hasText: 'emails' }).locator('.badge.paused').count()).toBe(1);
        await page.goto(`${app.url}/channel?name=emails`);
        await Promise.all([page.waitForURL(/flash=resumed/), page.click('button:has-text("Resume")')]);
        expect((await app.queue.stats('emails'))[0].paused).toBe(false);

        const failed = (await app.queue.stats('emails'))[0].failed;
        await page.click('button:has-text("Purge failed")');
        expect(await page.locator('.warning').textContent()).toContain(`This deletes ${failed} failed message(s) of channel emails`);
        expect((await app.queue.stats('emails'))[0].failed).toBe(failed);
        await Promise.all([page.waitForURL(/flash=purged/), page.click('button:has-text("Yes, delete them")')]);
        expect((await app.queue.stats('emails'))[0].failed).toBe(0);
        expect(await page.locator('table.failed .empty').textContent()).toContain('No failed messages');
    });
});
