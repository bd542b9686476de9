/**
 * Consumer behaviour above the storage contract, on real SQLite storage.
 */
import { BrokerQueue, QueueMessageAbortedError, SqliteQueueAdapter } from '../src';
import { MemoryLogger } from './support/logger';
import { deferred, waitFor } from './support/wait';

/** Real SQLite storage that records the size of every claim. */
class CountingAdapter extends SqliteQueueAdapter {
    claims: number[] = [];
    emptyClaims = 0;

    override async claim(channel: string, consumerId: string, limit: number, lease: number) {
        const claimed = await super.claim(channel, consumerId, limit, lease);
        if (claimed.length) this.claims.push(claimed.length);
        else this.emptyClaims++;
        return claimed;
    }
}

describe('consumer prefetch', () => {
    let adapter: CountingAdapter;
    let queue: BrokerQueue;

    beforeEach(async () => {
        adapter = new CountingAdapter({ path: ':memory:' });
        queue = new BrokerQueue(adapter, { logger: new MemoryLogger() });
        await queue.connect();
    });

    afterEach(() => queue.close());

    async function drain(count: number, callback: () => Promise<void> | void, options?: { maxParallel?: number, prefetch?: number }) {
        const channel = queue.channel<number>('n');
        await channel.produceMany(Array.from({ length: count }, (_, i) => i));
        let seen = 0;
        const done = deferred();
        const release = await channel.consume(async () => {
            await callback();
            if (++seen === count) done.resolve();
        }, options);
        await done.promise;
        await release();
    }

    test('fast callbacks are claimed in large batches', async () => {
        await drain(3000, () => undefined);
        expect(adapter.claims.reduce((a, b) => a + b, 0)).toBe(3000);
        expect(Math.max(...adapter.claims)).toBeGreaterThan(32);
        expect(adapter.claims.length).toBeLessThan(3000 / 16);
    });

    test('slow callbacks never hold more than maxParallel ahead', async () => {
        let peakLeased = 0;
        await drain(12, async () => {
            await new Promise(resolve => setTimeout(resolve, 25));
            peakLeased = Math.max(peakLeased, (await queue.stats('n'))[0].inFlight);
        }, { maxParallel: 2 });
        // Leased: 2 running + 2 prefetched, plus up to 2 finished whose ack is committing.
        expect(peakLeased).toBeLessThanOrEqual(6);
        expect(Math.max(...adapter.claims)).toBeLessThanOrEqual(4);
    });

    test('an idle consumer claims once per wake-up, not again after each message', async () => {
        const channel = queue.channel<number>('n');
        let handled = deferred();
        const release = await channel.consume(() => handled.resolve());
        for (let i = 0; i < 20; i++) {
            await channel.produce(i);
            await handled.promise;
            handled = deferred();
        }
        await release();
        expect(adapter.claims).toEqual(Array(20).fill(1));
        // A claim after every message found nothing and delayed the next wake-up: 20 or more.
        // What remains: the first look, and polls or produce notifications racing a claim.
        expect(adapter.emptyClaims).toBeLessThan(10);
    });

    test('an explicit prefetch is fixed', async () => {
        await drain(500, () => undefined, { maxParallel: 1, prefetch: 3 });
        expect(Math.max(...adapter.claims)).toBeLessThanOrEqual(4);
    });

    test('fast synchronous callbacks do not starve the event loop', async () => {
        // Synchronous storage plus synchronous callbacks once ran the whole backlog in one
        // promise chain: no timer or I/O ran, and settlements piled up unwritten until the end.
        const channel = queue.channel<number>('n');
        await channel.produceMany(Array.from({ length: 3000 }, (_, i) => i));
        let seen = 0;
        const all = deferred();
        const release = await channel.consume(() => {
            if (++seen === 3000) all.resolve();
        });
        const seenWhenTheLoopTurned = await new Promise<number>(resolve => setTimeout(() => resolve(seen), 0));
        await all.promise;
        await release();
        expect(seenWhenTheLoopTurned).toBeLessThan(3000);
        expect((await queue.stats('n'))[0]).toMatchObject({ pending: 0, inFlight: 0, doneLastHour: 3000 });
    });
});

describe('consumer callback outcomes', () => {
    let queue: BrokerQueue;

    beforeEach(async () => {
        queue = new BrokerQueue(new SqliteQueueAdapter({ path: ':memory:' }), { logger: new MemoryLogger() });
        await queue.connect();
    });

    afterEach(() => queue.close());

    test('synchronous, promise and foreign thenable results settle alike', async () => {
        // The consumer awaits nothing for a synchronous callback and one `then` for the rest: every
        // shape of result must still succeed, fail into a retry, or reschedule.
        const channel = queue.channel<number>('outcomes', { maxAttempts: 2, backoff: { delay: 1 } });
        await channel.produceMany([1, 2, 3, 4, 5, 6]);
        const attempts = new Map<number, number>();
        const done = deferred();
        const release = await channel.consume((n, message) => {
            const attempt = (attempts.get(n) ?? 0) + 1;
            attempts.set(n, attempt);
            if ([...attempts.values()].reduce((a, b) => a + b, 0) === 12) done.resolve();
            const fail = attempt === 1;
            switch (n) {
                case 1: if (fail) throw new Error('sync'); return;
                case 2: return fail ? Promise.reject(new Error('promise')) : Promise.resolve();
                case 3: return { then: (ok: () => void, no: (error: Error) => void) => fail ? no(new Error('thenable')) : ok() } as any;
                case 4: if (fail) message.delay(1); return;
                case 5: return fail ? new Promise<void>(resolve => setTimeout(() => { message.delay(1); resolve(); }, 5)) : undefined;
                default: return fail ? Promise.reject('not an Error') : undefined;
            }
        });
        await done.promise;
        await release();
        expect(Object.fromEntries(attempts)).toEqual({ 1: 2, 2: 2, 3: 2, 4: 2, 5: 2, 6: 2 });
        expect((await queue.stats('outcomes'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0, doneLastHour: 6 });
    });

    test('callbacks run at most maxParallel at once', async () => {
        const channel = queue.channel<number>('parallel');
        await channel.produceMany(Array.from({ length: 200 }, (_, i) => i));
        let running = 0;
        let peak = 0;
        let seen = 0;
        const done = deferred();
        const release = await channel.consume(async () => {
            peak = Math.max(peak, ++running);
            await new Promise(resolve => setImmediate(resolve));
            running--;
            if (++seen === 200) done.resolve();
        }, { maxParallel: 3 });
        await done.promise;
        await release();
        expect(peak).toBe(3);
    });

    test('release() called, not awaited, inside a callback stops after that callback, which is settled', async () => {
        // Awaited there, it would wait for the very callback that awaits it (the README says so).
        const channel = queue.channel<number>('self-release');
        await channel.produceMany([1, 2, 3]);
        const released = deferred();
        const seen: number[] = [];
        const release: () => Promise<void> = await channel.consume(n => {
            seen.push(n);
            void release().then(released.resolve);
        }, { maxParallel: 1 });
        await released.promise;
        expect(seen).toEqual([1]);
        expect((await queue.stats('self-release'))[0]).toMatchObject({ pending: 2, inFlight: 0, doneLastHour: 1 });
    });
});

describe('consumer timeout, message.signal and stopping', () => {
    let queue: BrokerQueue;
    let logger: MemoryLogger;

    beforeEach(async () => {
        logger = new MemoryLogger();
        queue = new BrokerQueue(new SqliteQueueAdapter({ path: ':memory:' }), { logger });
        await queue.connect();
    });

    afterEach(() => queue.close());

    /** One turn of the event loop: every promise reaction pending now has run. */
    const turn = () => new Promise(resolve => setImmediate(resolve));
    const settlementWarnings = () => logger.lines.filter(v => v.includes('before it settled') || v.includes('could not be settled'));

    test('a callback past its timeout is a failed attempt: retried with the slot freed, its signal aborted, its late result dropped', async () => {
        const channel = queue.channel<number>('slow', { maxAttempts: 3, backoff: { delay: 1 } });
        await channel.produce(1);
        const hangs = [deferred(), deferred()];
        const signals: AbortSignal[] = [];
        const attempts: number[] = [];
        const second = deferred();
        const release = await channel.consume(async (_, message) => {
            attempts.push(message.attempt);
            signals.push(message.signal);
            if (message.attempt === 2) second.resolve();
            await hangs[message.attempt - 1].promise;
        }, { timeout: '100ms', maxParallel: 1 });
        // maxParallel 1: the retry runs while the first callback still hangs.
        await second.promise;
        expect(attempts).toEqual([1, 2]);
        expect(signals[0].aborted).toBe(true);
        expect(signals[0].reason).toBeInstanceOf(QueueMessageAbortedError);
        expect(signals[0].reason).toMatchObject({ kind: 'timeout', message: expect.stringContaining('timed out after 100ms') });
        expect(signals[1].aborted).toBe(false);
        // The first callback returns now, the second right after: only the second settles.
        hangs[0].resolve();
        await turn();
        hangs[1].resolve();
        await release();
        expect((await queue.stats('slow'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0, doneLastHour: 1 });
        expect(settlementWarnings()).toEqual([]);
    });

    test('the timeout of the last attempt keeps the message as failed with a timeout error; a channel default applies', async () => {
        const channel = queue.channel<number>('slow', { maxAttempts: 1, timeout: '50ms' });
        const { id } = await channel.produce(1);
        const aborted = deferred<unknown>();
        const release = await channel.consume(async (_, message) => {
            // A cooperative callback: it stops when told, and its return then counts for nothing.
            await new Promise(resolve => message.signal.addEventListener('abort', resolve));
            aborted.resolve(message.signal.reason);
        });
        expect(await aborted.promise).toMatchObject({ kind: 'timeout' });
        await turn();
        await release();
        const [failed] = await queue.listFailed('slow');
        expect(failed).toMatchObject({ id, attempt: 1 });
        expect(failed.error).toBe(`QueueMessageAbortedError: The callback of message ${id} timed out after 50ms`);
        expect((await queue.stats('slow'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 1, doneLastHour: 0 });
        expect(settlementWarnings()).toEqual([]);
    });

    test('a timeout out of range is a named error', async () => {
        await expect(queue.channel<number>('n').consume(() => undefined, { timeout: '30d' })).rejects.toThrow(/'timeout' must be a duration of at most 2147483647ms/);
        await expect(queue.channel<number>('n').consume(() => undefined, { timeout: 0 })).rejects.toThrow(/'timeout' must be a finite duration of at least 1ms/);
        expect(() => queue.channel<number>('n', { timeout: '1 min' })).toThrow(/'timeout' has the invalid duration/);
    });

    test('abandoning at the shutdown timeout aborts message.signal, and the late result settles nothing', async () => {
        const channel = queue.channel<number>('stuck');
        await channel.produce(1);
        const started = deferred<AbortSignal>();
        const hang = deferred();
        await channel.consume(async (_, message) => {
            started.resolve(message.signal);
            await hang.promise;
        });
        const signal = await started.promise;
        expect(await queue.stopConsumers('50ms')).toBe(false);
        expect(signal.aborted).toBe(true);
        expect(signal.reason).toMatchObject({ kind: 'shutdown', message: expect.stringContaining('handed back for redelivery') });
        hang.resolve();
        await turn();
        // Writes whatever was queued for the storage.
        await queue.stopConsumers();
        expect((await queue.stats('stuck'))[0]).toMatchObject({ pending: 1, inFlight: 0, doneLastHour: 0 });
        expect(settlementWarnings()).toEqual([]);
    });

    test('release() waiting on a hung callback warns, naming its message, until it finishes', async () => {
        // The warning repeats every lease interval (at most 10 s).
        const channel = queue.channel<number>('hung', { lease: '200ms' });
        const { id } = await channel.produce(1);
        const started = deferred();
        const hang = deferred();
        const release = await channel.consume(async () => {
            started.resolve();
            await hang.promise;
        });
        await started.promise;
        let released = false;
        const releasing = release().then(() => released = true);
        const warning = await logger.waitForLine('still waits for 1 running callback(s)');
        expect(warning).toContain(id);
        expect(released).toBe(false);
        hang.resolve();
        await releasing;
        expect((await queue.stats('hung'))[0]).toMatchObject({ inFlight: 0, doneLastHour: 1 });
    });
});
