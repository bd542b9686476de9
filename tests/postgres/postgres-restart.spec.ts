/**
 * A PostgreSQL server restart in the middle of a run. Holds the restart lock
 * exclusively (see describePostgres), so no other test file runs meanwhile.
 */
import { execFile } from 'child_process';
import { readdirSync } from 'fs';
import { promisify } from 'util';
import { BrokerQueue, PostgresQueueAdapter, QueueStorageError } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { describePostgres, dropSchema, postgresUrl, sql, testSchema } from '../support/postgres';
import { waitFor } from '../support/wait';

type Job = { n: number, label: string };

const run = promisify(execFile);
const cluster = () => ['--skip-systemctl-redirect', readdirSync('/etc/postgresql')[0], 'main'];

async function serverUp(): Promise<boolean> {
    return sql('SELECT 1').then(() => true, () => false);
}

describePostgres('postgres: server restart', () => {
    const schema = testSchema();
    let worker: Child | undefined;
    let queue: BrokerQueue | undefined;

    afterAll(async () => {
        // Leave the server running, whatever happened.
        if (!await serverUp()) await run('pg_ctlcluster', [...cluster(), 'start']).catch(() => undefined);
        await waitFor(serverUp, 'PostgreSQL to accept connections', 30_000, 100);
        worker?.kill();
        await worker?.exited;
        await queue?.close();
        await dropSchema(schema);
    });

    test('consumers go on, nothing resolved is lost, nothing stays leased', async () => {
        queue = new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema, connectTimeout: '30s' }), { logger: new MemoryLogger() });
        await queue.connect();
        // A short lease, so a settlement lost to the restart is redelivered soon.
        worker = new Child('tests/fixtures/postgres-worker.ts', [postgresUrl, schema, 'ack', '4'], { LEASE: '2s', POLL_INTERVAL: '200ms' });
        await worker.waitForLine('ready');
        const delivered = () => new Set(worker!.lines.filter(v => v.startsWith('got ')).map(v => v.split(' ')[1]));

        const channel = queue.channel<Job>('jobs');
        const resolved: string[] = [];
        const errors: unknown[] = [];
        let restarted = false;
        let producedAfterRestart = 0;
        const producing = (async () => {
            for (let n = 0; producedAfterRestart < 50; n++) {
                try {
                    resolved.push((await channel.produce({ n, label: 'restart' })).id);
                    if (restarted) producedAfterRestart++;
                } catch (error) {
                    // A produce() that fails is not resolved: its message may or may not exist (at least once).
                    errors.push(error);
                }
            }
        })();

        await waitFor(() => delivered().size >= 20, 'the worker to process messages before the restart', 30_000);
        await run('pg_ctlcluster', [...cluster(), 'restart']);
        restarted = true;
        await producing;

        // Every resolved message is processed, including those produced after the restart.
        await waitFor(() => resolved.every(id => delivered().has(id)), 'every resolved message to be processed', 30_000, 50).catch(async error => {
            const missing = resolved.filter(id => !delivered().has(id));
            const rows = await sql(`SELECT id, state, attempt, lease_owner, lease_until, now() FROM "${schema}".queue_messages WHERE id = ANY($1::bigint[])`, [missing]);
            const consumers = await sql(`SELECT * FROM "${schema}".queue_consumers`);
            throw new Error(`${error.message}: missing ${missing.length} ${JSON.stringify(rows.slice(0, 5))} consumers ${JSON.stringify(consumers)} worker stderr ${worker!.errorOutput.slice(-3000)}`);
        });
        await waitFor(async () => {
            const [stats] = await queue!.stats('jobs');
            return stats.inFlight === 0 && stats.pending === 0;
        }, 'nothing leased or pending', 30_000, 100);
        for (const error of errors) expect(error).toBeInstanceOf(QueueStorageError);
    }, 120_000);
}, { exclusive: true });
