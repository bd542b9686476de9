/**
 * Storage queries behind the dashboard and the metrics, run unchanged on every
 * adapter: minute history, cumulative totals, failed-message search, message
 * detail, live consumers, and headers stored with a message.
 */
import { hostname } from 'os';
import { BrokerQueue, latencyTotal, QueueStorage } from '../../src';
import { MemoryLogger } from '../support/logger';
import { deferred } from '../support/wait';

export interface ObservabilityFixture {
    storage: QueueStorage;
    /** Moves every recorded minute this many minutes into the past (as if time had passed). */
    ageHistory(minutes: number): Promise<void>;
    cleanup(): Promise<void>;
}

export function observabilitySuite(name: string, factory: () => Promise<ObservabilityFixture>): void {
    describe(`storage observability: ${name}`, () => {
        let fixture: ObservabilityFixture;
        let storage: QueueStorage;
        let queue: BrokerQueue;

        beforeEach(async () => {
            fixture = await factory();
            storage = fixture.storage;
            queue = new BrokerQueue(storage, { logger: new MemoryLogger(), pollInterval: 50, reclaimInterval: 100 });
            await queue.connect();
        });

        afterEach(async () => {
            await queue.close();
            await fixture.cleanup();
        });

        /** 3 produced: 'ok' done at once, 'flaky' fails once and is retried, 'bad' fails its only attempt. */
        async function workload() {
            const channel = queue.channel<string>('jobs', { maxAttempts: 2, backoff: { delay: 1, factor: 1 } });
            await channel.produceMany(['ok', 'flaky']);
            await queue.channel<string>('jobs', { maxAttempts: 1 }).produce('bad');
            const settled = deferred();
            let flakyRuns = 0, finished = 0;
            const release = await channel.consume(data => {
                if (data === 'flaky' && ++flakyRuns === 1) throw new Error('first attempt fails');
                if (data === 'bad') {
                    if (++finished === 3) setImmediate(settled.resolve);
                    throw new Error('bad <b>payload</b>');
                }
                if (++finished === 3) setImmediate(settled.resolve);
            });
            await settled.promise;
            await release();
        }

        test('history and totals count produced, done, failed and retried per channel, and latency per claim', async () => {
            await workload();
            const [totals] = await storage.totals();
            expect(totals).toMatchObject({ channel: 'jobs', produced: 3, done: 2, failed: 1, retried: 1 });
            // Four claims: ok, flaky twice, bad.
            expect(latencyTotal(totals.latency)).toBe(4);
            expect(totals.latency.sum).toBeGreaterThanOrEqual(0);

            const history = await storage.history({ since: 60 * 60_000 });
            const sum = (field: 'produced' | 'done' | 'failed' | 'retried') => history.reduce((n, v) => n + v[field], 0);
            expect(history.every(v => v.channel === 'jobs' && v.minute.getTime() % 60_000 === 0)).toBe(true);
            expect([sum('produced'), sum('done'), sum('failed'), sum('retried')]).toEqual([3, 2, 1, 1]);
            expect(await storage.history({ since: 60 * 60_000, channel: 'other' })).toEqual([]);

            expect(await queue.retryFailed('jobs')).toBe(1);
            expect((await storage.totals())[0].retried).toBe(2);
        });

        test('pruning old minutes carries them into the totals, which never go back', async () => {
            await workload();
            const before = await storage.totals();
            await fixture.ageHistory(25 * 60);
            await storage.prune();
            expect(await storage.history({ since: 24 * 60 * 60_000 })).toEqual([]);
            expect(await storage.totals()).toEqual(before);
            await queue.channel<string>('jobs').produce('later');
            expect((await storage.totals())[0].produced).toBe(4);
        });

        test('searchFailed finds by error text, payload text and id, counts all matches and pages', async () => {
            const channel = queue.channel<{ name: string }>('search', { maxAttempts: 1 });
            await channel.produceMany(Array.from({ length: 5 }, (_, i) => ({ name: i === 3 ? 'needle 100%' : `hay${i}` })));
            const done = deferred();
            let runs = 0;
            const release = await channel.consume(data => {
                if (++runs === 5) setImmediate(done.resolve);
                throw new Error(data.name.startsWith('hay') ? 'Timeout talking to SMTP' : 'Refused');
            });
            await done.promise;
            await release();

            const all = await storage.searchFailed('search', { limit: 2, offset: 0 });
            expect(all.total).toBe(5);
            expect(all.messages).toHaveLength(2);
            const second = await storage.searchFailed('search', { limit: 2, offset: 2 });
            expect(second.messages.map(v => v.id)).not.toContain(all.messages[0].id);

            expect((await storage.searchFailed('search', { search: 'smtp', limit: 10, offset: 0 })).total).toBe(4);
            const byPayload = await storage.searchFailed('search', { search: 'needle', limit: 10, offset: 0 });
            expect(byPayload.total).toBe(1);
            expect(byPayload.messages[0].error).toContain('Refused');
            // % is text, not a wildcard.
            expect((await storage.searchFailed('search', { search: '%', limit: 10, offset: 0 })).total).toBe(1);
            expect((await storage.searchFailed('search', { search: 'o_t', limit: 10, offset: 0 })).total).toBe(0);
            const byId = await storage.searchFailed('search', { search: byPayload.messages[0].id, limit: 10, offset: 0 });
            expect(byId.messages.map(v => v.id)).toContain(byPayload.messages[0].id);
            expect((await storage.searchFailed('other', { search: 'smtp', limit: 10, offset: 0 })).total).toBe(0);
        });

        test('getMessage tells each state and keeps headers; unknown or malformed ids are undefined', async () => {
            const [ready, later] = await storage.enqueue([
                { channel: 'detail', payload: new Uint8Array([5, 0, 0, 0, 0]), delay: 0, priority: 2, maxAttempts: 3, headers: { traceparent: '00-abc-def-01' } },
                { channel: 'detail', payload: new Uint8Array([5, 0, 0, 0, 0]), delay: 60_000, priority: 0, maxAttempts: 3 },
            ]);
            expect(await storage.getMessage(ready.id)).toMatchObject({
                id: ready.id, channel: 'detail', state: 'pending', attempt: 0, maxAttempts: 3, priority: 2, headers: { traceparent: '00-abc-def-01' },
            });
            expect((await storage.getMessage(later.id))!.state).toBe('delayed');
            expect((await storage.getMessage(later.id))!.headers).toBeUndefined();

            await storage.registerConsumer({ id: 'c1', channel: 'detail', host: 'h', pid: process.pid });
            const [claimed] = await storage.claim('detail', 'c1', 1, 10_000);
            expect(claimed.headers).toEqual({ traceparent: '00-abc-def-01' });
            expect(await storage.getMessage(ready.id)).toMatchObject({ state: 'leased', attempt: 1, leaseOwner: 'c1' });
            await storage.settle([{ kind: 'fail', id: ready.id, consumerId: 'c1', error: 'broken' }]);
            const failed = await storage.getMessage(ready.id);
            expect(failed).toMatchObject({ state: 'failed', error: 'broken' });
            expect(failed!.settledAt).toBeInstanceOf(Date);

            expect(await storage.getMessage('999999')).toBeUndefined();
            expect(await storage.getMessage('x; DROP TABLE')).toBeUndefined();
        });

        test('listConsumers shows every registered consumer with its host, pid, start and leases in flight', async () => {
            await storage.enqueue([1, 2].map(() => ({ channel: 'live', payload: new Uint8Array([5, 0, 0, 0, 0]), delay: 0, priority: 0, maxAttempts: 3 })));
            const before = Date.now();
            await storage.registerConsumer({ id: 'c-live', channel: 'live', host: `${hostname()}/boot/ns`, pid: process.pid });
            await storage.claim('live', 'c-live', 5, 10_000);
            const consumers = await storage.listConsumers();
            expect(consumers).toEqual([{ id: 'c-live', channel: 'live', host: hostname(), pid: process.pid, since: expect.any(Date), inFlight: 2 }]);
            expect(consumers[0].since.getTime()).toBeGreaterThan(before - 5_000);
            await storage.unregisterConsumer('c-live');
            expect(await storage.listConsumers()).toEqual([]);
        });
    });
}
