/**
 * A child of `bench/scenarios/orm-contention.ts`, run with ts-node:
 * - `worker <file>`: consume(..., { database }) on the file, each callback adding a row; prints `{"ready":true}`.
 * - `app <file> <plain|attached> <seconds>`: the application: read-then-write ORM transactions back to back for
 *   that long; prints `{"committed":n,"failed":n,"errors":{...}}`. `plain` is an app without the queue (the ORM as
 *   it comes: deferred BEGIN, better-sqlite3's 5 s busy timeout); `attached` builds the queue adapter from its
 *   database (IMMEDIATE transactions, the queue's busy timeout).
 */
import { Database } from '@deepkit/orm';
import { SQLiteDatabaseAdapter } from '@deepkit/sqlite';
import { BrokerQueue, queueAdapterFor } from '../../src';
import { BenchRow } from './orm-app';
import { silentLogger } from './silent-logger';

const [role, path, mode, seconds] = process.argv.slice(2);
const database = new Database(new SQLiteDatabaseAdapter(path), [BenchRow]);

async function worker(): Promise<void> {
    const queue = new BrokerQueue(queueAdapterFor(database), { logger: silentLogger });
    await queue.channel<{ n: number }>('contention').consume(async (job, message, session) => {
        session.add(new BenchRow(job.n));
    }, { database, maxParallel: 2 });
    console.log(JSON.stringify({ ready: true }));
}

async function app(): Promise<void> {
    if (mode === 'attached') new BrokerQueue(queueAdapterFor(database), { logger: silentLogger });
    let committed = 0, failed = 0;
    const errors: Record<string, number> = {};
    const end = Date.now() + Number(seconds) * 1000;
    for (let n = 1_000_000; Date.now() < end; n++) {
        try {
            await database.transaction(async session => {
                await session.query(BenchRow).filter({ n: { $lt: 10 } }).count();
                session.add(new BenchRow(n));
            });
            committed++;
        } catch (error) {
            failed++;
            let cause: any = error;
            while (cause?.cause && !cause.code) cause = cause.cause;
            const code = cause?.code ?? String(error).slice(0, 60);
            errors[code] = (errors[code] ?? 0) + 1;
        }
        await new Promise(resolve => setImmediate(resolve));
    }
    console.log(JSON.stringify({ committed, failed, errors }));
    process.exit(0);
}

(role === 'worker' ? worker() : app()).catch(error => {
    console.error(error);
    process.exit(1);
});
