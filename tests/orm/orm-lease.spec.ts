/**
 * A transactional callback stalled past its lease (its process stopped with
 * SIGSTOP, so nothing of it runs, not even lease renewal). PostgreSQL: another
 * consumer takes the message over and commits; when the stalled one resumes,
 * its transaction rolls back with QueueLeaseLostError, so the effect commits
 * once. SQLite: the stalled transaction holds the file's write lock, so nobody
 * can take the message over; it commits once when it resumes.
 */
import { Database } from '@deepkit/orm';
import BetterSqlite3 from 'better-sqlite3';
import { BrokerQueue, QueueStorageBusyError, SqliteQueueAdapter } from '../../src';
import { Effect, Job } from '../fixtures/orm-app';
import { Child } from '../support/child';
import { AppQueue, killChildren, openAppQueue } from '../support/orm-queue';
import { describePostgres } from '../support/postgres';
import { createTestDatabase } from '../support/postgres-database';
import { tempDir } from '../support/temp';
import { deferred, waitFor } from '../support/wait';

const worker = 'tests/fixtures/orm-worker.ts';
const startup = 180_000;
jest.setTimeout(300_000);

async function effects(database: Database): Promise<{ n: number, worker: string }[]> {
    return (await database.query(Effect).find()).map(v => ({ n: v.n, worker: v.worker }));
}

describe('sqlite: a transactional callback stalled past its lease', () => {
    let dir: ReturnType<typeof tempDir>;
    let path: string;
    let database: Database;
    let queue: BrokerQueue;
    let stalled: Child | undefined;

    let app: AppQueue;

    beforeEach(async () => {
        dir = tempDir();
        path = dir.file('app.sqlite');
        app = await openAppQueue('sqlite', path);
        ({ database, queue } = app);
    });

    afterEach(async () => {
        await killChildren([stalled]);
        await app.close();
        dir.remove();
    });

    test('keeps the write lock: nobody can take the message over, and it commits once when it resumes', async () => {
        stalled = new Child(worker, ['sqlite', path, 'stall'], { LEASE: '1s', STALL_MS: '1000', WORKER_NAME: 'stalled' });
        await stalled.waitForLine('ready', startup);
        const { id } = await queue.channel<Job>('jobs').produce({ n: 1 });
        await stalled.waitForLine(`wrote ${id} 1 1`, 60_000);
        process.kill(stalled.pid, 'SIGSTOP');

        const reader = new BetterSqlite3(path, { readonly: true });
        try {
            await waitFor(() => (reader.prepare('SELECT lease_until FROM queue_messages WHERE id = ?').get(Number(id)) as { lease_until: number }).lease_until < Date.now(), 'the lease to run out');
        } finally {
            reader.close();
        }
        // Another process's reclaim of the expired lease cannot get the write lock.
        const rescuer = new SqliteQueueAdapter({ path, busyTimeout: '300ms' });
        await rescuer.connect();
        try {
            await expect(rescuer.reclaimAbandoned()).rejects.toBeInstanceOf(QueueStorageBusyError);
            process.kill(stalled.pid, 'SIGCONT');
            await waitFor(async () => (await queue.stats('jobs'))[0].doneLastHour === 1, 'the stalled transaction to commit');
            expect(await rescuer.reclaimAbandoned()).toBe(0);
        } finally {
            await rescuer.disconnect();
        }
        expect(await effects(database)).toEqual([{ n: 1, worker: 'stalled' }]);
        expect(stalled.lines.filter(line => line.includes('no longer leased'))).toEqual([]);
    });
});

describePostgres('postgres: a transactional callback stalled past its lease', () => {
    let url: string;
    let drop: () => Promise<void>;
    let database: Database;
    let queue: BrokerQueue;
    let stalled: Child | undefined;

    let app: AppQueue | undefined;

    beforeEach(async () => {
        ({ url, drop } = await createTestDatabase());
        app = await openAppQueue('postgres', url, { reclaimInterval: '100ms', pollInterval: '100ms' });
        ({ database, queue } = app);
    });

    afterEach(async () => {
        await killChildren([stalled]);
        await app?.close();
        await drop?.();
    });

    test('another consumer takes over and commits; the stalled transaction rolls back (lease lost at its renewal or at its ack)', async () => {
        stalled = new Child(worker, ['postgres', url, 'stall'], { LEASE: '1s', STALL_MS: '1000', WORKER_NAME: 'stalled' });
        await stalled.waitForLine('ready', startup);
        const channel = queue.channel<Job>('jobs', { lease: '30s' });
        const { id } = await channel.produce({ n: 1 });
        await stalled.waitForLine(`wrote ${id} 1 1`, 60_000);
        process.kill(stalled.pid, 'SIGSTOP');

        // The stalled worker's session is alive (the process is), so only the lease running out frees the message.
        const { Client } = require('pg') as typeof import('pg');
        const client = new Client({ connectionString: url });
        await client.connect();
        try {
            await waitFor(async () => (await client.query('SELECT lease_until < now() AS expired FROM deepkit_queue.queue_messages WHERE id = $1', [id])).rows[0]?.expired, 'the lease to run out');
        } finally {
            await client.end();
        }
        const taken = deferred<number>();
        await channel.consume(async (job, message, session) => {
            session.add(new Effect(job.n, 'rescuer'));
            taken.resolve(message.attempt);
        }, { database });
        // The stalled lease ran out before its start was recorded: that delivery uses no attempt (see Guarantees).
        expect(await taken.promise).toBe(1);
        await waitFor(async () => (await queue.stats('jobs'))[0].doneLastHour === 1, 'the rescuer to commit');

        process.kill(stalled.pid, 'SIGCONT');
        // Either its renewal finds the lease gone first (the signal aborts with 'leaseLost' and the transaction rolls
        // back at its next check), or its ack does (QueueLeaseLostError): both roll back.
        const lost = await stalled.waitForLine(line => line.includes('is no longer leased to this consumer') || line.includes('lost the lease of'), 60_000);
        expect(lost).toContain(id);
        expect(await effects(database)).toEqual([{ n: 1, worker: 'rescuer' }]);
        expect((await queue.stats('jobs'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0, doneLastHour: 1 });
    });
});
