/**
 * Conformance of the flow-control operations (declareFlow, setPaused, the limits in claim,
 * nextAvailableIn after a held-back claim, stats' paused), run by every adapter's conformance
 * spec with the same factory as the storage suite.
 */
import { BrokerQueue, QueueStorage } from '../src';
import { MemoryLogger } from './support/logger';
import { openStorage } from './support/storage-location';
import { StorageFixture, StorageSuiteOptions } from './storage-suite';
import { deferred, waitFor, within } from './support/wait';

export function flowConformanceSuite(name: string, factory: () => Promise<StorageFixture>, options: StorageSuiteOptions = {}): void {
    const sharedTest = (options.shared ?? true) ? test : test.skip;
    describe(`flow conformance: ${name}`, () => {
        let fixture: StorageFixture;
        let storage: QueueStorage;
        let queue: BrokerQueue;
        let logger: MemoryLogger;

        const produce = (channel: string, count: number) => storage.enqueue(Array.from({ length: count }, () => ({ channel, payload: new Uint8Array([1]), delay: 0, priority: 0, maxAttempts: 3 })));
        const register = (id: string, channel: string) => storage.registerConsumer({ id, channel, host: 'h', pid: process.pid });

        beforeEach(async () => {
            fixture = await factory();
            storage = fixture.storage;
            logger = new MemoryLogger();
            queue = new BrokerQueue(storage, { logger, pollInterval: 5000, reclaimInterval: 100 });
            await queue.connect();
        });

        afterEach(async () => {
            await queue.close();
            await fixture.cleanup?.();
        });

        test('declareFlow stores the limits and returns the ones stored before', async () => {
            expect(await storage.declareFlow('f', { concurrency: 2 })).toEqual({});
            expect(await storage.declareFlow('f', { concurrency: 3, rate: { max: 10, per: 1000 } })).toEqual({ concurrency: 2 });
            expect(await storage.declareFlow('f', {})).toEqual({ concurrency: 3, rate: { max: 10, per: 1000 } });
            expect(await storage.declareFlow('f', {})).toEqual({});
            expect(await storage.declareFlow('other', { concurrency: 1 })).toEqual({});
        });

        test('concurrency bounds the leased messages of the channel across consumers, prefetch included', async () => {
            await produce('f', 10);
            await storage.declareFlow('f', { concurrency: 3 });
            await register('a', 'f');
            await register('b', 'f');
            const a = await storage.claim('f', 'a', 2, 60_000);
            const b = await storage.claim('f', 'b', 5, 60_000);
            expect([a.length, b.length]).toEqual([2, 1]);
            expect(await storage.claim('f', 'a', 5, 60_000)).toEqual([]);
            // Held back by the limit: only a wake-up (a settlement) helps, not a timer.
            expect(await storage.nextAvailableIn('f')).toBeUndefined();
            const woken = deferred();
            const stop = storage.watch('f', () => woken.resolve());
            await storage.settle([{ kind: 'done', id: a[0].id, consumerId: 'a', retention: 0 }]);
            await within(woken.promise, 5000, 'the wake-up of a freed slot');
            stop();
            expect((await storage.claim('f', 'b', 5, 60_000)).length).toBe(1);
            // Other channels are not limited.
            await produce('g', 5);
            expect((await storage.claim('g', 'a', 5, 60_000)).length).toBe(5);
            // Without limits again: the fast path claims everything.
            await storage.declareFlow('f', {});
            expect((await storage.claim('f', 'a', 10, 60_000)).length).toBe(6);
        });

        test('rateLimit starts at most max deliveries per window', async () => {
            await produce('f', 10);
            await storage.declareFlow('f', { rate: { max: 3, per: 400 } });
            await register('a', 'f');
            const started = Date.now();
            expect((await storage.claim('f', 'a', 2, 60_000)).length).toBe(2);
            expect((await storage.claim('f', 'a', 5, 60_000)).length).toBe(1);
            expect(await storage.claim('f', 'a', 5, 60_000)).toEqual([]);
            // Held back by the window: the time until it ends.
            const wait = await storage.nextAvailableIn('f');
            expect(wait).toBeGreaterThan(0);
            expect(wait).toBeLessThanOrEqual(400);
            const next = await waitFor(async () => {
                const claimed = await storage.claim('f', 'a', 5, 60_000);
                return claimed.length ? claimed : undefined;
            }, 'the next window', 5000, 20);
            expect(Date.now() - started).toBeGreaterThanOrEqual(350);
            expect(next.length).toBe(3);
        });

        test('a paused channel stores produces and delivers nothing; resume wakes watchers and delivers again', async () => {
            await storage.declareFlow('f', { concurrency: 5 });
            await storage.setPaused('f', true);
            await produce('f', 3);
            await register('a', 'f');
            expect(await storage.claim('f', 'a', 10, 60_000)).toEqual([]);
            expect(await storage.nextAvailableIn('f')).toBeUndefined();
            expect(await storage.stats('f')).toEqual([expect.objectContaining({ channel: 'f', pending: 3, paused: true })]);
            expect((await storage.stats()).find(v => v.channel === 'f')?.paused).toBe(true);
            const woken = deferred();
            const stop = storage.watch('f', () => woken.resolve());
            await storage.setPaused('f', false);
            await within(woken.promise, 5000, 'the wake-up of resume');
            stop();
            expect((await storage.stats('f'))[0].paused).toBe(false);
            // Limits survive a pause and a resume.
            expect((await storage.claim('f', 'a', 10, 60_000)).length).toBe(3);
            expect(await storage.declareFlow('f', { concurrency: 5 })).toEqual({ concurrency: 5 });
        });

        test('pausing a channel without limits, then resuming, claims as before; stats show paused: false by default', async () => {
            await produce('f', 2);
            expect((await storage.stats('f'))[0].paused).toBe(false);
            await register('a', 'f');
            await storage.setPaused('f', true);
            await storage.setPaused('f', true);
            expect(await storage.claim('f', 'a', 10, 60_000)).toEqual([]);
            await storage.setPaused('f', false);
            expect((await storage.claim('f', 'a', 10, 60_000)).length).toBe(2);
        });

        sharedTest('resume wakes watchers of another connection (another process)', async () => {
            const other = openStorage(fixture.location!);
            await other.connect();
            try {
                await storage.setPaused('f', true);
                let woken = deferred();
                const stop = other.watch('f', () => woken.resolve());
                // PostgreSQL's LISTEN may wake once when it takes effect.
                await produce('f', 1);
                await within(woken.promise, 5000, 'the first wake-up');
                woken = deferred();
                await storage.setPaused('f', false);
                await within(woken.promise, 5000, 'the wake-up of resume in the other connection');
                stop();
            } finally {
                await other.disconnect();
            }
        });

        test('queue.pause()/resume() with a consumer: nothing new runs while paused, running callbacks finish', async () => {
            const channel = queue.channel<number>('p');
            const started: number[] = [];
            const first = deferred();
            const finishFirst = deferred();
            const release = await channel.consume(async data => {
                started.push(data);
                if (data === 1) {
                    first.resolve();
                    await finishFirst.promise;
                }
            }, { prefetch: 0 });
            await channel.produce(1);
            await within(first.promise, 5000, 'the first callback');
            await queue.pause('p');
            await channel.produceMany([2, 3]);
            finishFirst.resolve();
            await waitFor(async () => (await queue.stats('p'))[0].inFlight === 0, 'the running callback to finish');
            expect(started).toEqual([1]);
            expect((await queue.stats('p'))[0]).toMatchObject({ paused: true, pending: 2 });
            await queue.resume('p');
            await waitFor(() => started.length === 3, 'deliveries after resume', 5000);
            await release();
        });

        test('consume({ concurrency }) bounds callbacks running at once below maxParallel; a different declaration warns naming both', async () => {
            const channel = queue.channel<number>('c', { concurrency: 2 });
            await channel.produceMany(Array.from({ length: 12 }, (_, i) => i));
            let running = 0, most = 0, done = 0;
            const release = await channel.consume(async () => {
                most = Math.max(most, ++running);
                await new Promise(resolve => setTimeout(resolve, 20));
                running--;
                done++;
            }, { maxParallel: 6 });
            await waitFor(() => done === 12, 'all callbacks', 10_000);
            expect(most).toBe(2);
            await release();
            expect(logger.lines.filter(v => v.includes('declares'))).toEqual([expect.stringContaining('concurrency 2')]);
            const other = await channel.consume(async () => undefined, { concurrency: 4 });
            await logger.waitForLine('declares concurrency 4, the stored declaration had concurrency 2');
            await other();
        });

        test('bad flow options are a QueueOptionError naming the option', () => {
            expect(() => queue.channel('x', { concurrency: 0 })).toThrow(expect.objectContaining({ name: 'QueueOptionError', message: expect.stringContaining("'concurrency'") }));
            expect(() => queue.channel('x', { rateLimit: { max: 1.5, per: '1s' } })).toThrow(expect.objectContaining({ message: expect.stringContaining("'rateLimit.max'") }));
            expect(() => queue.channel('x', { rateLimit: { max: 1, per: 'soon' } as any })).toThrow(expect.objectContaining({ message: expect.stringContaining('rateLimit.per') }));
            expect(() => queue.channel('x', { rateLimit: { max: 1 } as any })).toThrow(expect.objectContaining({ message: expect.stringContaining('rateLimit.per') }));
        });
    });
}
