/**
 * The queue in the application's own Deepkit ORM database, on both backends
 * (sqlite-full, postgres), side by side with the plain paths:
 * - produce: a plain awaited produce, against an ORM transaction that adds an
 *   application row and produces with { session } (one commit for both), and
 *   against the same row and message in two commits (the transaction, then a
 *   plain produce: what an app without { session } does);
 * - drain of a pre-filled queue in this process: a plain consume that writes
 *   the row with its own `database.persist()` (at least once), against
 *   consume(..., { database }) writing it through the session (once), at
 *   maxParallel 1 and 8.
 */
import { Database } from '@deepkit/orm';
import { performance } from 'perf_hooks';
import { BrokerQueue, BrokerQueueChannel, queueAdapterFor } from '../../src';
import { interleaved, runStandalone, Scenario } from '../lib/harness';
import { Metric } from '../lib/metric';
import { BenchRow, OrmBackend, withOrmDatabase } from '../lib/orm-app';
import { settings } from '../lib/settings';
import { silentLogger } from '../lib/silent-logger';

type Job = { n: number };
const backends: OrmBackend[] = ['sqlite-full', 'postgres'];

async function withQueue<R>(backend: OrmBackend, run: (database: Database, channel: BrokerQueueChannel<Job>, queue: BrokerQueue) => Promise<R>): Promise<R> {
    return withOrmDatabase(backend, async database => {
        const queue = new BrokerQueue(queueAdapterFor(database), { logger: silentLogger });
        try {
            await queue.connect();
            return await run(database, queue.channel<Job>('orm-bench'), queue);
        } finally {
            await queue.close();
        }
    });
}

async function rate(count: number, body: (n: number) => Promise<void>): Promise<number> {
    const start = performance.now();
    for (let n = 0; n < count; n++) await body(n);
    return count / (performance.now() - start) * 1000;
}

type Consume = (database: Database, channel: BrokerQueueChannel<Job>, handled: () => void) => Promise<() => Promise<void>>;

async function drainRate(backend: OrmBackend, count: number, consume: Consume): Promise<number> {
    return withQueue(backend, async (database, channel) => {
        for (let n = 0; n < count; n += settings.bulkSize) {
            await channel.produceMany(Array.from({ length: Math.min(settings.bulkSize, count - n) }, (_, i) => ({ n: n + i })));
        }
        let handled = 0;
        let started = 0;
        let finish!: () => void;
        const finished = new Promise<void>(resolve => finish = resolve);
        const release = await consume(database, channel, () => {
            if (!started) started = performance.now();
            if (++handled === count) finish();
        });
        await finished;
        // The stop waits for the last acknowledgements: they are part of the drain.
        await release();
        const ms = performance.now() - started;
        if (await database.query(BenchRow).count() !== count) throw new Error(`orm drain (${backend}): expected ${count} rows`);
        return count / ms * 1000;
    });
}

export const orm: Scenario = async systems => {
    const chosen = backends.filter(v => systems.includes(v));
    const count = Math.min(settings.sequential, 1000);
    const drainCount = Math.min(settings.count, 5000);
    const plain = new Metric(`ORM: plain awaited produce (${count})`, 'msg/s', true);
    const inSession = new Metric(`ORM: row + produce({ session }), one transaction each (${count})`, 'msg/s', true);
    const twoCommits = new Metric(`ORM: row in a transaction, then plain produce (${count})`, 'msg/s', true);
    const drainPlain = new Metric(`ORM: drain, plain consume + database.persist(row) (${drainCount})`, 'msg/s', true);
    const drainOnce = new Metric(`ORM: drain, consume({ database }) + session.add(row), maxParallel 1 (${drainCount})`, 'msg/s', true);
    const drainOnce8 = new Metric(`ORM: drain, consume({ database }) + session.add(row), maxParallel 8 (${drainCount})`, 'msg/s', true);

    await interleaved(chosen, async name => {
        const backend = name as OrmBackend;
        await withQueue(backend, async (database, channel) => {
            plain.add(backend, await rate(count, async n => { await channel.produce({ n }); }));
            inSession.add(backend, await rate(count, n => database.transaction(async session => {
                session.add(new BenchRow(n));
                await channel.produce({ n }, { session });
            })));
            twoCommits.add(backend, await rate(count, async n => {
                await database.transaction(async session => session.add(new BenchRow(n)));
                await channel.produce({ n });
            }));
        });
        drainPlain.add(backend, await drainRate(backend, drainCount, (database, channel, handled) => channel.consume(async job => {
            await database.persist(new BenchRow(job.n));
            handled();
        })));
        for (const [metric, maxParallel] of [[drainOnce, 1], [drainOnce8, 8]] as const) {
            metric.add(backend, await drainRate(backend, drainCount, (database, channel, handled) => channel.consume(async (job, message, session) => {
                session.add(new BenchRow(job.n));
                handled();
            }, { database, maxParallel })));
        }
    });
    return [plain, inSession, twoCommits, drainPlain, drainOnce, drainOnce8];
};

if (require.main === module) runStandalone(orm);
