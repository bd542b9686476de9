/**
 * The storage conformance suite: every adapter runs it unchanged through a
 * factory that returns a fresh, isolated, not yet connected storage.
 *
 *     storageConformanceSuite('sqlite file', async () => ({ storage: new SqliteQueueAdapter({ path }), location: { kind: 'sqlite', path }, cleanup }));
 */
import { BrokerQueue, BrokerQueueOptions, CancelResult, cancelledError, cancelWatchChannel, QueueMessageProcessing, QueueStorage, QueueValidationError } from '../src';
import { Child } from './support/child';
import { MemoryLogger } from './support/logger';
import { countRows, openStorage, StorageLocation } from './support/storage-location';
import { deferred, waitFor, within } from './support/wait';

export interface StorageFixture {
    storage: QueueStorage;
    cleanup?: () => Promise<void> | void;
    /**
     * Where the storage's database is, so tests can open it again: a second storage instance
     * with its own connection, a child process, a raw query. Required unless the suite is told
     * the database belongs to this one instance (SQLite ':memory:').
     */
    location?: StorageLocation;
}

export interface StorageSuiteOptions {
    /**
     * false: the database belongs to one storage instance (SQLite ':memory:'). The tests that need a
     * second connection are skipped, and those that can are run within the one instance. Default true.
     */
    shared?: boolean;
}

type User = { id: number, username: string, registered: Date };

const user = (id: number): User => ({ id, username: 'user' + id, registered: new Date(1_700_000_000_000 + id) });

export function storageConformanceSuite(name: string, factory: () => Promise<StorageFixture>, options: StorageSuiteOptions = {}): void {
    const shared = options.shared ?? true;
    /** For tests that need a second connection to the database. */
    const sharedTest = shared ? test : test.skip;
    describe(`storage conformance: ${name}`, () => {
        let fixture: StorageFixture;
        let storage: QueueStorage;
        let queue: BrokerQueue;
        let logger: MemoryLogger;

        function makeQueue(options: BrokerQueueOptions = {}): BrokerQueue {
            return new BrokerQueue(storage, { logger, pollInterval: 50, reclaimInterval: 100, ...options });
        }

        beforeEach(async () => {
            fixture = await factory();
            if (shared && !fixture.location) throw new Error(`The fixture of '${name}' has no location: give one, or pass { shared: false }`);
            storage = fixture.storage;
            logger = new MemoryLogger();
            queue = makeQueue();
            await queue.connect();
        });

        afterEach(async () => {
            await queue.close();
            await fixture.cleanup?.();
        });

        async function consumeAll<T>(channel: { consume: (cb: (data: T) => void, o?: any) => Promise<() => Promise<void>> }, count: number, options?: object): Promise<T[]> {
            const received: T[] = [];
            const done = deferred();
            const release = await channel.consume(data => {
                received.push(data);
                if (received.length === count) done.resolve();
            }, options);
            await done.promise;
            await release();
            return received;
        }

        test('delivers the produced value deserialized as the channel type', async () => {
            const channel = queue.channel<User>('users');
            const result = await channel.produce(user(1));
            expect(result).toEqual({ id: expect.any(String), deduplicated: false });
            const [received] = await consumeAll(channel, 1);
            expect(received).toEqual(user(1));
            expect(received.registered).toBeInstanceOf(Date);
        });

        test('primitive and array channel types round-trip', async () => {
            const strings = queue.channel<string>('strings');
            const lists = queue.channel<number[]>('lists');
            await strings.produce('hello');
            await lists.produce([1, 2, 3]);
            expect(await consumeAll(strings, 1)).toEqual(['hello']);
            expect(await consumeAll(lists, 1)).toEqual([[1, 2, 3]]);
        });

        test('invalid data rejects with a readable validation error and stores nothing', async () => {
            const channel = queue.channel<User>('users');
            const error = await channel.produce({ id: 'x', username: 1 } as any).catch(e => e);
            expect(error).toBeInstanceOf(QueueValidationError);
            expect(error.message).toContain('id: Not a number');
            expect(error.message).toContain('username: Not a string');
            await expect(channel.produceMany([user(1), { id: 2 } as any])).rejects.toBeInstanceOf(QueueValidationError);
            const [stats] = await queue.stats('users');
            expect(stats).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 0 });
        });

        test('produceMany stores all in order and returns an id each', async () => {
            const channel = queue.channel<User>('users');
            const results = await channel.produceMany([user(1), user(2), user(3)]);
            expect(new Set(results.map(v => v.id)).size).toBe(3);
            expect((await consumeAll(channel, 3)).map(v => v.id)).toEqual([1, 2, 3]);
        });

        test('concurrent produce calls each get their own id (group commit)', async () => {
            const channel = queue.channel<User>('users');
            const results = await Promise.all(Array.from({ length: 50 }, (_, i) => channel.produce(user(i))));
            expect(new Set(results.map(v => v.id)).size).toBe(50);
            expect((await queue.stats('users'))[0].pending).toBe(50);
        });

        test('higher priority is delivered first, then order of availability', async () => {
            const channel = queue.channel<number>('numbers');
            await channel.produce(1);
            await channel.produce(2, { priority: 5 });
            await channel.produce(3);
            await channel.produce(4, { priority: 5 });
            expect(await consumeAll(channel, 4)).toEqual([2, 4, 1, 3]);
        });

        test('a delayed message is not delivered before its delay', async () => {
            const channel = queue.channel<number>('numbers');
            const producing = Date.now();
            await channel.produce(1, { delay: '400ms' });
            await channel.produce(2);
            await storage.registerConsumer({ id: 'c1', channel: 'numbers', host: 'h', pid: process.pid });
            const first = await storage.claim('numbers', 'c1', 10, 10_000);
            expect(first).toHaveLength(1);
            const next = await storage.nextAvailableIn('numbers');
            expect(next).toBeGreaterThan(0);
            expect(next).toBeLessThanOrEqual(400);
            await storage.settle([{ kind: 'done', id: first[0].id, consumerId: 'c1', retention: 0 }]);
            const [late] = await consumeAll(channel, 1);
            expect(late).toBe(2 - 1);
            // Measured from before the produce, not from after the steps above (they may take a while on a
            // busy machine). 1ms less: Date.now() truncates to milliseconds, PostgreSQL's clock does not.
            expect(Date.now() - producing).toBeGreaterThanOrEqual(400 - 1);
        });

        test('nextAvailableIn is undefined with nothing pending and 0 when a message is available now', async () => {
            // An adapter once answered "nothing pending" with 0: its idle consumers then polled without pause.
            expect(await storage.nextAvailableIn('numbers')).toBeUndefined();
            await queue.channel<number>('numbers').produce(1);
            expect(await storage.nextAvailableIn('numbers')).toBe(0);
            expect(await storage.nextAvailableIn('other')).toBeUndefined();
            await storage.registerConsumer({ id: 'c1', channel: 'numbers', host: 'h', pid: process.pid });
            expect(await storage.claim('numbers', 'c1', 10, 10_000)).toHaveLength(1);
            // Leased now, so nothing is pending.
            expect(await storage.nextAvailableIn('numbers')).toBeUndefined();
        });

        test('nextAvailableIn is the earliest availability over all priorities', async () => {
            const payload = new Uint8Array([1]);
            const at = (delay: number, priority: number) => ({ channel: 'numbers', payload, delay, priority, maxAttempts: 1 });
            await storage.enqueue([at(60_000, 5), at(20_000, 0), at(40_000, -3), at(50_000, 0)]);
            const next = await storage.nextAvailableIn('numbers');
            expect(next).toBeGreaterThan(15_000);
            expect(next).toBeLessThanOrEqual(20_000);
        });

        test('a failing callback is retried with backoff, then kept as failed with its error', async () => {
            const channel = queue.channel<User>('users', { maxAttempts: 3, backoff: { delay: '150ms', factor: 2 } });
            await channel.produce(user(1));
            const attempts: number[] = [];
            const deliveredAt: number[] = [];
            const failedAt: number[] = [];
            const failedAll = deferred();
            const release = await channel.consume((data, message) => {
                deliveredAt.push(Date.now());
                attempts.push(message.attempt);
                if (message.attempt === 3) setImmediate(() => failedAll.resolve());
                const error = new Error('boom ' + message.attempt);
                // Formatted here (the first stack takes tens of ms with source maps), before the failure's time is taken.
                void error.stack;
                failedAt.push(Date.now());
                throw error;
            });
            await failedAll.promise;
            const failed = await waitFor(async () => (await queue.listFailed('users')).find(v => v.attempt === 3), 'failed message');
            await release();
            expect(attempts).toEqual([1, 2, 3]);
            // Each retry is delivered no earlier than its backoff (150ms, then 150ms * 2) after the failure
            // before it. 1ms less: Date.now() truncates to milliseconds, PostgreSQL's clock does not.
            expect(deliveredAt[1] - failedAt[0]).toBeGreaterThanOrEqual(150 - 1);
            expect(deliveredAt[2] - failedAt[1]).toBeGreaterThanOrEqual(300 - 1);
            expect(failed.error).toContain('boom 3');
            expect(failed.maxAttempts).toBe(3);
            expect((await queue.stats('users'))[0]).toMatchObject({ pending: 0, failed: 1, inFlight: 0 });

            expect(await queue.retryFailed('users')).toBe(1);
            const [again] = await consumeAll(channel, 1);
            expect(again).toEqual(user(1));
            expect((await queue.stats('users'))[0]).toMatchObject({ pending: 0, failed: 0, inFlight: 0 });
        });

        test('retry and purge of failed messages by id', async () => {
            const channel = queue.channel<number>('numbers', { maxAttempts: 1 });
            const ids = (await channel.produceMany([1, 2, 3])).map(v => v.id);
            const allFailed = deferred();
            let calls = 0;
            const release = await channel.consume(() => {
                if (++calls === 3) setImmediate(() => allFailed.resolve());
                throw new Error('no');
            });
            await allFailed.promise;
            await waitFor(async () => (await queue.listFailed('numbers')).length === 3, 'three failed');
            await release();
            expect(await queue.retryFailed('numbers', [ids[1]])).toBe(1);
            expect((await queue.stats('numbers'))[0]).toMatchObject({ pending: 1, failed: 2 });
            expect(await queue.purge('numbers', 'failed')).toBe(2);
            expect((await queue.stats('numbers'))[0]).toMatchObject({ pending: 1, failed: 0 });
            expect(await queue.purge('numbers', 'all')).toBe(1);
            expect((await queue.stats('numbers'))[0]).toMatchObject({ pending: 0, failed: 0 });
        });

        test('an undecodable payload goes to failed at once, never loops, never stops the worker', async () => {
            await storage.enqueue([{ channel: 'users', payload: new Uint8Array([1, 2, 3, 4, 5]), delay: 0, priority: 1, maxAttempts: 5 }]);
            const channel = queue.channel<User>('users');
            await channel.produce(user(7));
            const [received] = await consumeAll(channel, 1);
            expect(received).toEqual(user(7));
            const failed = await waitFor(async () => (await queue.listFailed('users'))[0], 'failed message');
            expect(failed.attempt).toBe(1);
            expect(failed.error).toMatch(/Cannot decode|does not match/);
        });

        test('a payload of a changed type is kept as failed with the reason', async () => {
            await queue.channel<{ id: string }>('users').produce({ id: 'not a number' });
            const channel = queue.channel<User>('users');
            await channel.produce(user(1));
            await consumeAll(channel, 1);
            const failed = await waitFor(async () => (await queue.listFailed('users'))[0], 'failed message');
            expect(failed.attempt).toBe(1);
            expect(failed.error).toMatch(/Cannot decode|does not match its type/);
            expect(failed.error).toContain('id');
        });

        test('exactlyOnce deduplicates by content within the interval, then accepts it again', async () => {
            const channel = queue.channel<User>('users', { process: QueueMessageProcessing.exactlyOnce, deduplicationInterval: '300ms' });
            const first = await channel.produce(user(1));
            const second = await channel.produce(user(1));
            expect(second).toEqual({ id: first.id, deduplicated: true });
            expect((await channel.produce(user(2))).deduplicated).toBe(false);
            const later = await waitFor(async () => {
                const result = await channel.produce(user(1));
                return !result.deduplicated && result;
            }, 'the interval to end', 5000, 50);
            expect(later.id).not.toBe(first.id);
            expect((await queue.stats('users'))[0].pending).toBe(3);
        });

        test('exactlyOnce uses the hash option and per-message overrides; atLeastOnce never deduplicates', async () => {
            const channel = queue.channel<User>('users', { process: QueueMessageProcessing.exactlyOnce });
            expect((await channel.produce(user(1), { hash: 'k' })).deduplicated).toBe(false);
            expect((await channel.produce(user(2), { hash: 'k' })).deduplicated).toBe(true);
            expect((await channel.produce(user(2), { process: QueueMessageProcessing.atLeastOnce })).deduplicated).toBe(false);
            const plain = queue.channel<User>('plain');
            expect((await plain.produce(user(1))).deduplicated).toBe(false);
            expect((await plain.produce(user(1))).deduplicated).toBe(false);
            expect((await plain.produce(user(1), { process: QueueMessageProcessing.exactlyOnce })).deduplicated).toBe(false);
            expect((await plain.produce(user(1), { process: QueueMessageProcessing.exactlyOnce })).deduplicated).toBe(true);
        });

        test('deduplication is per channel, and within one produceMany', async () => {
            const a = queue.channel<number>('a', { process: QueueMessageProcessing.exactlyOnce });
            const b = queue.channel<number>('b', { process: QueueMessageProcessing.exactlyOnce });
            expect((await a.produce(1)).deduplicated).toBe(false);
            expect((await b.produce(1)).deduplicated).toBe(false);
            const many = await a.produceMany([2, 2, 3]);
            expect(many.map(v => v.deduplicated)).toEqual([false, true, false]);
            expect(many[1].id).toBe(many[0].id);
        });

        test('prune removes expired deduplication records and retained done messages', async () => {
            const channel = queue.channel<number>('n', { process: QueueMessageProcessing.exactlyOnce, deduplicationInterval: 1, retention: 1 });
            await channel.produce(1);
            const producedAt = Date.now();
            await consumeAll(channel, 1);
            const { location } = fixture;
            if (location) expect(await countRows(location, 'queue_dedup')).toBe(1);
            // The record lives 1ms: once the clock has moved past it, prune must delete it.
            await waitFor(() => Date.now() > producedAt + 5, 'the deduplication interval to pass');
            await storage.prune();
            // enqueue ignores an expired record anyway: only the table shows whether prune deleted it.
            if (location) expect(await countRows(location, 'queue_dedup')).toBe(0);
            expect((await channel.produce(1)).deduplicated).toBe(false);
            await consumeAll(channel, 1);
            const [stats] = await queue.stats('n');
            expect(stats.doneLastHour).toBe(2);
            // Retention is 1ms: once the clock has moved past it, prune must remove both done messages.
            const doneAt = Date.now();
            await waitFor(() => Date.now() > doneAt + 5, 'the retention to pass');
            await storage.prune();
            expect(await queue.purge('n', 'all')).toBe(0);
        });

        test('a message is never leased to two consumers at once', async () => {
            const count = 1000;
            const produced = (await queue.channel<number>('n').produceMany(Array.from({ length: count }, (_, i) => i))).map(v => v.id);
            const { location } = fixture;
            if (!location) {
                // One instance of an in-process database: its claims run one after another.
                await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
                await storage.registerConsumer({ id: 'b', channel: 'n', host: 'h', pid: process.pid });
                const batches = await Promise.all(Array.from({ length: 4 }, (_, i) => storage.claim('n', i % 2 ? 'b' : 'a', count / 4, 10_000)));
                const claimed = batches.flat();
                expect(claimed.map(v => v.id).sort()).toEqual([...produced].sort());
                expect(claimed.filter(v => v.attempt !== 1)).toEqual([]);
                return;
            }
            // Two processes, each with its own connection, connect and register, then claim on one signal
            // in small batches until the channel is empty: their claims really race.
            const claimers = ['a', 'b'].map(id => new Child('tests/fixtures/storage-claimer.ts', [JSON.stringify(location), 'n', id, '2']));
            try {
                // Starting a TypeScript child takes seconds, more on a busy machine.
                await Promise.all(claimers.map(v => v.waitForLine('ready', 150_000)));
                for (const claimer of claimers) claimer.kill('SIGUSR2');
                await Promise.all(claimers.map(v => v.waitForLine('finished', 30_000)));
            } finally {
                for (const claimer of claimers) claimer.kill();
                await Promise.all(claimers.map(v => v.exited));
            }
            const time = (claimer: Child, word: string) => Number(claimer.lines.find(line => line.startsWith(word + ' '))!.split(' ')[1]);
            const [a, b] = claimers;
            // Each started before the other finished, and each got some.
            expect(time(a, 'go')).toBeLessThan(time(b, 'finished'));
            expect(time(b, 'go')).toBeLessThan(time(a, 'finished'));
            const claimed = claimers.map(claimer => claimer.lines.filter(line => line.startsWith('claimed ')).map(line => {
                const [, id, attempt] = line.split(' ');
                return { id, attempt: Number(attempt) };
            }));
            for (const mine of claimed) expect(mine.length).toBeGreaterThan(0);
            // Every message claimed exactly once, on its first attempt.
            expect(claimed.flat().map(v => v.id).sort()).toEqual([...produced].sort());
            expect(claimed.flat().filter(v => v.attempt !== 1)).toEqual([]);
        }, 240_000);

        test('settling a message leased to another consumer changes nothing', async () => {
            await queue.channel<number>('n').produce(1);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            const [claimed] = await storage.claim('n', 'a', 1, 10_000);
            expect(await storage.settle([{ kind: 'done', id: claimed.id, consumerId: 'intruder', retention: 0 }])).toEqual([claimed.id]);
            expect(await storage.settle([{ kind: 'start', id: claimed.id, consumerId: 'intruder' }])).toEqual([claimed.id]);
            expect(await storage.renewLeases('intruder', [claimed.id], 10_000)).toEqual([claimed.id]);
            expect(await storage.renewLeases('a', [claimed.id], 10_000)).toEqual([]);
            expect((await queue.stats('n'))[0].inFlight).toBe(1);
            expect(await storage.settle([{ kind: 'done', id: claimed.id, consumerId: 'a', retention: 0 }])).toEqual([]);
            expect((await queue.stats('n'))[0].inFlight).toBe(0);
        });

        test('cancel removes a pending or delayed message, fails a leased one at once, and finds nothing else', async () => {
            const channel = queue.channel<number>('n');
            const [pending, delayed, leased, done, other] = await channel.produceMany([1, 2, 3, 4, 5]);
            await storage.enqueue([]);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            expect(await storage.cancel('n', delayed.id)).toBe('removed');
            // Pending and delayed alike: make one delayed by rescheduling it.
            const claimed = await storage.claim('n', 'a', 5, 60_000);
            expect(claimed.map(v => v.id)).toEqual([pending.id, leased.id, done.id, other.id]);
            await storage.settle([
                { kind: 'reschedule', id: pending.id, consumerId: 'a', delay: 3_600_000 },
                { kind: 'done', id: done.id, consumerId: 'a', retention: 60_000 },
                { kind: 'release', id: other.id, consumerId: 'a' },
            ]);
            expect((await storage.getMessage(pending.id))!.state).toBe('delayed');
            expect(await storage.cancel('n', pending.id)).toBe('removed');
            expect(await storage.cancel('n', other.id)).toBe('removed');
            expect(await storage.getMessage(pending.id)).toBeUndefined();
            expect(await storage.getMessage(delayed.id)).toBeUndefined();

            // Another channel's message, a done one, an unknown or malformed id: nothing happens.
            expect(await storage.cancel('other', leased.id)).toBe('not found');
            expect(await storage.cancel('n', done.id)).toBe('not found');
            expect(await storage.cancel('n', '999999999')).toBe('not found');
            expect(await storage.cancel('n', 'x')).toBe('not found');
            expect((await storage.getMessage(leased.id))!.state).toBe('leased');

            const cancels = deferred();
            const stop = storage.watch(cancelWatchChannel('n'), () => cancels.resolve());
            try {
                expect(await storage.cancel('n', leased.id)).toBe('cancelled');
                await within(cancels.promise, 5000, 'the announcement of the cancel');
            } finally {
                stop();
            }
            const cancelled = await storage.getMessage(leased.id);
            expect(cancelled).toMatchObject({ state: 'failed', error: cancelledError, attempt: 1, settledAt: expect.any(Date) });
            expect(cancelled!.leaseOwner).toBeUndefined();
            // Its consumer's renewal and settlement find the lease gone and change nothing.
            expect(await storage.renewLeases('a', [leased.id], 60_000)).toEqual([leased.id]);
            expect(await storage.settle([{ kind: 'done', id: leased.id, consumerId: 'a', retention: 0 }])).toEqual([leased.id]);
            expect(await storage.settle([{ kind: 'retry', id: leased.id, consumerId: 'a', delay: 0, error: 'late' }])).toEqual([leased.id]);
            expect(await storage.getMessage(leased.id)).toMatchObject({ state: 'failed', error: cancelledError });
            expect(await storage.cancel('n', leased.id)).toBe('not found');
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 1 });
            expect((await storage.totals()).find(v => v.channel === 'n')).toMatchObject({ failed: 1 });
            // A cancelled message is a failed one: an operator can retry it.
            expect(await storage.retryFailed('n', [leased.id])).toBe(1);
            expect((await storage.getMessage(leased.id))!.state).toBe('pending');
        });

        sharedTest('cancel racing claims from another connection: each message is removed or cancelled, never missed', async () => {
            const other = openStorage(fixture.location!);
            await other.connect();
            try {
                const results = await queue.channel<number>('n').produceMany(Array.from({ length: 120 }, (_, i) => i));
                await other.registerConsumer({ id: 'b', channel: 'n', host: 'h', pid: process.pid });
                const claimed = new Set<string>();
                const claiming = (async () => {
                    for (let i = 0; i < 120; i++) for (const v of await other.claim('n', 'b', 1, 60_000)) claimed.add(v.id);
                })();
                const outcomes: CancelResult[] = [];
                for (const { id } of results) outcomes.push(await storage.cancel('n', id));
                await claiming;
                expect(outcomes.filter(v => v === 'not found')).toEqual([]);
                // A message the other connection claimed was running there: cancelled, never deleted under it.
                expect(results.filter(({ id }, i) => claimed.has(id) && outcomes[i] !== 'cancelled')).toEqual([]);
                const [stats] = await queue.stats('n');
                expect(stats).toMatchObject({ pending: 0, inFlight: 0, failed: outcomes.filter(v => v === 'cancelled').length });
            } finally {
                await other.disconnect();
            }
        });

        test('message.signal aborts with kind cancelled when the running message is cancelled; its result changes nothing', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 3 });
            const { id } = await channel.produce(1);
            const started = deferred();
            const aborted = deferred<unknown>();
            const finish = deferred();
            let calls = 0;
            const release = await channel.consume(async (_, message) => {
                calls++;
                message.signal.addEventListener('abort', () => aborted.resolve(message.signal.reason));
                started.resolve();
                await finish.promise;
            }, { prefetch: 0 });
            try {
                await started.promise;
                expect(await queue.cancel('n', id)).toBe('cancelled');
                // Prompt: the cancel is announced, the lease (60 s by default) is not waited for.
                expect(await within(aborted.promise, 5000, 'the abort')).toMatchObject({ name: 'QueueMessageAbortedError', kind: 'cancelled', message: expect.stringContaining('cancelled') });
                finish.resolve();
                expect(await storage.getMessage(id)).toMatchObject({ state: 'failed', error: 'cancelled' });
                expect((await queue.stats('n'))[0]).toMatchObject({ inFlight: 0, failed: 1 });
                expect(calls).toBe(1);
                expect(logger.lines.filter(line => line.includes('lost the lease'))).toEqual([]);
            } finally {
                finish.resolve();
                await release();
            }
            expect(await storage.getMessage(id)).toMatchObject({ state: 'failed', error: 'cancelled' });
        });

        test('message.signal aborts with kind leaseLost when the lease was taken over; the slot is freed and the result dropped', async () => {
            const channel = queue.channel<number>('n', { lease: 150 });
            const [first, second] = await channel.produceMany([1, 2]);
            const aborted = deferred<unknown>();
            const finish = deferred();
            const ran: string[] = [];
            const secondRan = deferred();
            const release = await channel.consume(async (_, message) => {
                ran.push(message.id);
                if (message.id === second.id) return secondRan.resolve();
                message.signal.addEventListener('abort', () => aborted.resolve(message.signal.reason));
                // As if a reclaim had taken the consumer for dead: its lease goes to another consumer.
                const [consumer] = queue['consumers'];
                await storage.unregisterConsumer(consumer.id);
                await storage.registerConsumer({ id: 'thief', channel: 'n', host: 'h', pid: process.pid });
                const taken = await storage.claim('n', 'thief', 2, 60_000);
                expect(taken.map(v => v.id)).toContain(first.id);
                await storage.settle(taken.filter(v => v.id !== first.id).map(v => ({ kind: 'release' as const, id: v.id, consumerId: 'thief' })));
                await finish.promise;
            }, { prefetch: 0, maxParallel: 1 });
            try {
                expect(await within(aborted.promise, 5000, 'the abort')).toMatchObject({ name: 'QueueMessageAbortedError', kind: 'leaseLost' });
                // The slot is free at once: the other message runs while the first callback still hangs.
                await within(secondRan.promise, 5000, 'the second message');
                finish.resolve();
                await waitFor(async () => (await storage.getMessage(second.id)) === undefined, 'the second message done');
                // The late callback settles nothing: the thief still holds the first message.
                expect(await storage.getMessage(first.id)).toMatchObject({ state: 'leased', leaseOwner: 'thief' });
                expect(logger.lines.some(line => line.includes('lost the lease') && line.includes(first.id))).toBe(true);
            } finally {
                finish.resolve();
                await release();
            }
        });

        test('a lost lease whose start was not recorded uses no attempt; the next delivery asks to record it', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 1 });
            await channel.produceMany([1, 2, 3]);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            const first = await storage.claim('n', 'a', 3, 150);
            expect(first.map(v => [v.attempt, v.recordStart])).toEqual([[1, false], [1, false], [1, false]]);
            expect(await storage.reclaimAbandoned()).toBe(0);
            await waitFor(async () => await storage.reclaimAbandoned() === 3, 'leases to expire');
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 3, inFlight: 0, failed: 0 });
            const again = await storage.claim('n', 'a', 3, 60_000);
            expect(again.map(v => [v.attempt, v.recordStart])).toEqual([[1, true], [1, true], [1, true]]);
            // Handed back unstarted: still no attempt used, still to be recorded.
            await storage.settle([{ kind: 'release', id: again[0].id, consumerId: 'a' }]);
            const [third] = await storage.claim('n', 'a', 1, 60_000);
            expect(third).toMatchObject({ id: again[0].id, attempt: 1, recordStart: true });
        });

        test('a lost lease whose start was recorded counts as an attempt; out of attempts it is failed', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 2 });
            await channel.produce(1);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            expect(await storage.claim('n', 'a', 1, 150)).toHaveLength(1);
            await waitFor(async () => await storage.reclaimAbandoned() === 1, 'lease to expire');
            const [second] = await storage.claim('n', 'a', 1, 150);
            expect(second).toMatchObject({ attempt: 1, recordStart: true });
            expect(await storage.settle([{ kind: 'start', id: second.id, consumerId: 'a' }])).toEqual([]);
            expect((await queue.stats('n'))[0]).toMatchObject({ inFlight: 1, pending: 0 });
            // Lost twice, the second time after its start: both count, as for a message that kills every worker.
            await waitFor(async () => await storage.reclaimAbandoned() === 1, 'lease to expire again');
            const [failed] = await queue.listFailed('n');
            expect(failed).toMatchObject({ id: second.id, attempt: 2 });
            expect(failed.error).toContain('lease expired');
        });

        test('a recorded start lost with attempts left is delivered again and still recorded', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 3 });
            await channel.produce(1);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            await storage.claim('n', 'a', 1, 150);
            await waitFor(async () => await storage.reclaimAbandoned() === 1, 'lease to expire');
            const [second] = await storage.claim('n', 'a', 1, 150);
            await storage.settle([{ kind: 'start', id: second.id, consumerId: 'a' }]);
            await waitFor(async () => await storage.reclaimAbandoned() === 1, 'lease to expire again');
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 1, failed: 0 });
            const [third] = await storage.claim('n', 'a', 1, 60_000);
            expect(third).toMatchObject({ attempt: 2, recordStart: true });
        });

        test('a settled delivery gives back the attempts of earlier unrecorded losses', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 2 });
            await channel.produce(1);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            await storage.claim('n', 'a', 1, 150);
            await waitFor(async () => await storage.reclaimAbandoned() === 1, 'lease to expire');
            const [second] = await storage.claim('n', 'a', 1, 60_000);
            expect(second).toMatchObject({ attempt: 1, recordStart: true });
            // Its callback ran to the end (and threw): the earlier loss was not its doing.
            expect(await storage.settle([{ kind: 'start', id: second.id, consumerId: 'a' }])).toEqual([]);
            expect(await storage.settle([{ kind: 'retry', id: second.id, consumerId: 'a', delay: 0, error: 'no' }])).toEqual([]);
            const [third] = await storage.claim('n', 'a', 1, 60_000);
            expect(third).toMatchObject({ attempt: 2, recordStart: false });
            expect(await storage.settle([{ kind: 'fail', id: third.id, consumerId: 'a', error: 'no' }])).toEqual([]);
            expect((await queue.listFailed('n'))[0]).toMatchObject({ attempt: 2 });
        });

        test('a consumer runs a message lost with another worker alone, as attempt 1', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 1 });
            await channel.produceMany([1, 2, 3, 4]);
            await storage.registerConsumer({ id: 'gone', channel: 'n', host: 'h', pid: process.pid });
            expect(await storage.claim('n', 'gone', 4, 100)).toHaveLength(4);
            const reclaimed = await waitFor(async () => {
                await storage.reclaimAbandoned();
                const [stats] = await queue.stats('n');
                return stats.inFlight === 0 && stats;
            }, 'leases to expire');
            expect(reclaimed).toMatchObject({ pending: 4, failed: 0 });
            let running = 0, peak = 0;
            const attempts: number[] = [];
            const done = deferred();
            const release = await channel.consume(async (_, message) => {
                peak = Math.max(peak, ++running);
                attempts.push(message.attempt);
                await new Promise(resolve => setTimeout(resolve, 5));
                running--;
                if (attempts.length === 4) done.resolve();
            }, { maxParallel: 4 });
            await done.promise;
            await release();
            // Any of them may have killed that worker: each starts alone, so a crash now would count for it only.
            expect(peak).toBe(1);
            expect(attempts).toEqual([1, 1, 1, 1]);
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0 });
        });

        test('unregistering a consumer makes its leases pending without using an attempt', async () => {
            await queue.channel<number>('n').produce(1);
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            expect(await storage.claim('n', 'a', 1, 60_000)).toHaveLength(1);
            await storage.unregisterConsumer('a');
            await storage.registerConsumer({ id: 'b', channel: 'n', host: 'h', pid: process.pid });
            const [again] = await storage.claim('n', 'b', 1, 60_000);
            expect(again.attempt).toBe(1);
        });

        test('maxParallel bounds concurrent callbacks', async () => {
            const channel = queue.channel<number>('n');
            await channel.produceMany(Array.from({ length: 30 }, (_, i) => i));
            let running = 0, peak = 0, count = 0;
            const done = deferred();
            const release = await channel.consume(async () => {
                peak = Math.max(peak, ++running);
                await new Promise(resolve => setTimeout(resolve, 5));
                running--;
                if (++count === 30) done.resolve();
            }, { maxParallel: 4 });
            await done.promise;
            await release();
            expect(peak).toBe(4);
        });

        test('lease renewals racing settlements report no lost lease', async () => {
            // Nothing reclaims here, so no lease can be taken over: any "lost the lease" warning is false.
            // A 150 ms lease is renewed every 50 ms while fast callbacks settle all the time.
            const racing = makeQueue({ reclaimInterval: '1h' });
            const channel = racing.channel<number>('n', { lease: 150 });
            const count = 3000;
            await channel.produceMany(Array.from({ length: count }, (_, i) => i));
            let seen = 0;
            const done = deferred();
            const release = await channel.consume(async () => {
                await new Promise(resolve => setTimeout(resolve, 1));
                if (++seen === count) done.resolve();
            }, { maxParallel: 8 });
            await done.promise;
            await release();
            expect(logger.lines.filter(line => line.includes('lost the lease'))).toEqual([]);
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 0, inFlight: 0 });
        });

        test('a lease taken over while its callback runs is reported', async () => {
            const channel = queue.channel<number>('n', { lease: 150 });
            await channel.produce(1);
            const done = deferred();
            // prefetch 0: this consumer does not claim the message back while its callback runs.
            const release = await channel.consume(async (_, message) => {
                // As if a reclaim had taken the consumer for dead: its lease goes to another consumer.
                const [consumer] = queue['consumers'];
                await storage.unregisterConsumer(consumer.id);
                await storage.registerConsumer({ id: 'thief', channel: 'n', host: 'h', pid: process.pid });
                expect(await storage.claim('n', 'thief', 1, 60_000)).toHaveLength(1);
                await waitFor(() => logger.lines.some(line => line.includes('lost the lease') && line.includes(message.id)), 'the warning');
                done.resolve();
            }, { prefetch: 0 });
            await done.promise;
            await release();
        });

        test('release() waits for running callbacks and leaves nothing leased', async () => {
            const channel = queue.channel<number>('n');
            await channel.produceMany(Array.from({ length: 20 }, (_, i) => i));
            const started = deferred();
            const finish = deferred();
            let finished = 0;
            const release = await channel.consume(async () => {
                started.resolve();
                await finish.promise;
                finished++;
            }, { maxParallel: 2, prefetch: 8 });
            await started.promise;
            const released = release();
            setImmediate(() => finish.resolve());
            await released;
            expect(finished).toBe(2);
            const [stats] = await queue.stats('n');
            expect(stats).toMatchObject({ inFlight: 0, pending: 18 });
            const claimedAgain = await (async () => {
                await storage.registerConsumer({ id: 'x', channel: 'n', host: 'h', pid: process.pid });
                return storage.claim('n', 'x', 100, 10_000);
            })();
            expect(claimedAgain).toHaveLength(18);
            expect(claimedAgain.filter(v => v.attempt !== 1)).toEqual([]);
        });

        /** A consumer whose callback calls release() unawaited, as the README says, then waits for `finish`. */
        async function consumeSelfReleasing() {
            const channel = queue.channel<number>('n');
            await channel.produceMany([1, 2]);
            const inside = deferred();
            const finish = deferred();
            const state = { finished: false, released: undefined as Promise<void> | undefined };
            const release: () => Promise<void> = await channel.consume(async () => {
                state.released = release();
                inside.resolve();
                await finish.promise;
                state.finished = true;
            });
            await inside.promise;
            return { finish, state };
        }

        test('stopConsumers() waits for a release() under way, and its message is settled', async () => {
            const { finish, state } = await consumeSelfReleasing();
            const finishedWhenStopped = queue.stopConsumers().then(() => state.finished);
            setImmediate(() => finish.resolve());
            expect(await finishedWhenStopped).toBe(true);
            await expect(state.released).resolves.toBeUndefined();
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 1, inFlight: 0, doneLastHour: 1 });
            expect(logger.lines.filter(v => v.startsWith('error'))).toEqual([]);
        });

        test('close() waits for a release() under way: the settlement is written before storage closes', async () => {
            const { finish, state } = await consumeSelfReleasing();
            const finishedWhenClosed = queue.close().then(() => state.finished);
            setImmediate(() => finish.resolve());
            expect(await finishedWhenClosed).toBe(true);
            await expect(state.released).resolves.toBeUndefined();
            expect(logger.lines.filter(v => v.startsWith('error'))).toEqual([]);
        });

        test('message.delay() reschedules without using an attempt', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 1 });
            await channel.produce(1);
            const seen: number[] = [];
            const done = deferred();
            const release = await channel.consume((data, message) => {
                seen.push(message.attempt);
                if (seen.length === 1) message.delay('50ms');
                else done.resolve();
            });
            await done.promise;
            await release();
            expect(seen).toEqual([1, 1]);
            expect((await queue.stats('n'))[0]).toMatchObject({ pending: 0, failed: 0, inFlight: 0 });
        });

        test('stats count pending, delayed, in flight, failed and done', async () => {
            const channel = queue.channel<number>('n', { maxAttempts: 1 });
            await channel.produceMany([1, 2, 3]);
            await channel.produce(4, { delay: '1h' });
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            const claimed = await storage.claim('n', 'a', 2, 60_000);
            await storage.settle([
                { kind: 'done', id: claimed[0].id, consumerId: 'a', retention: 0 },
                { kind: 'fail', id: claimed[1].id, consumerId: 'a', error: 'bad' },
            ]);
            await storage.claim('n', 'a', 1, 60_000);
            const [stats] = await queue.stats('n');
            expect(stats).toMatchObject({ channel: 'n', pending: 0, delayed: 1, inFlight: 1, failed: 1, doneLastHour: 1 });
            expect(stats.ratePerSecond).toBeGreaterThan(0);
            expect(await queue.stats('unknown')).toEqual([expect.objectContaining({ channel: 'unknown', pending: 0 })]);
        });

        test('watch() announces messages produced through this instance', async () => {
            const woken = deferred();
            const stop = storage.watch('n', () => woken.resolve());
            await queue.channel<number>('n').produce(1);
            await within(woken.promise, 5000, 'a wake-up');
            stop();
        });

        sharedTest('watch() announces messages produced through another connection (another process)', async () => {
            const other = openStorage(fixture.location!);
            await other.connect();
            let wakes = 0;
            let woken = deferred();
            const stop = storage.watch('n', () => { wakes++; woken.resolve(); });
            const produce = () => other.enqueue([{ channel: 'n', payload: new Uint8Array([1]), delay: 0, priority: 0, maxAttempts: 1 }]);
            try {
                // The first wake may be one that needs no other process (PostgreSQL looks once after LISTEN,
                // in case a message came before it took effect); once it came, the watch is in place.
                await produce();
                await within(woken.promise, 5000, 'the first wake-up');
                // Only the other instance's notification, across connections, can cause a wake from now on.
                const before = wakes;
                woken = deferred();
                await produce();
                await within(woken.promise, 5000, 'a wake-up from the other connection');
                expect(wakes).toBeGreaterThan(before);
            } finally {
                stop();
                await other.disconnect();
            }
        });

        test('a closed queue rejects produce with a named error', async () => {
            const channel = queue.channel<number>('n');
            await queue.close();
            await expect(channel.produce(1)).rejects.toMatchObject({ name: 'QueueClosedError' });
        });
    });
}
