/**
 * `queue.cancel()` in one process aborts the running callback in another: the
 * cancel is announced (SQLite wake file, PostgreSQL NOTIFY) and the worker
 * renews at once, well before its next lease renewal (20 s with a 60 s lease).
 */
import { BrokerQueue, PostgresQueueAdapter, SqliteQueueAdapter } from '../src';
import { Child } from './support/child';
import { MemoryLogger } from './support/logger';
import { describePostgres, dropSchema, postgresUrl, testSchema } from './support/postgres';
import { tempDir } from './support/temp';

const worker = 'tests/fixtures/cancel-worker.ts';

function cancelAcrossProcesses(setup: () => Promise<{ queue: BrokerQueue, args: string[], cleanup(): Promise<void> }>): void {
    let queue: BrokerQueue;
    let args: string[];
    let cleanup: () => Promise<void>;
    const children: Child[] = [];

    beforeEach(async () => {
        ({ queue, args, cleanup } = await setup());
        await queue.connect();
    });

    afterEach(async () => {
        for (const child of children.splice(0)) {
            child.kill();
            await child.exited;
        }
        await queue.close();
        await cleanup();
    });

    test('cancel from another process aborts the running callback within 3 s and keeps the message failed; a pending one is removed', async () => {
        const child = new Child(worker, args);
        children.push(child);
        await child.waitForLine('ready');
        const channel = queue.channel<number>('jobs');
        const { id } = await channel.produce(1);
        await child.waitForLine(`got ${id}`);
        const { id: later } = await channel.produce(2, { delay: '1h' });

        const cancelledAt = Date.now();
        expect(await queue.cancel('jobs', id)).toBe('cancelled');
        expect(await child.waitForLine(`aborted ${id}`, 10_000)).toBe(`aborted ${id} cancelled`);
        expect(Date.now() - cancelledAt).toBeLessThan(3000);
        expect(await queue.adapter.getMessage(id)).toMatchObject({ state: 'failed', error: 'cancelled' });

        expect(await queue.cancel('jobs', later)).toBe('removed');
        expect(await queue.adapter.getMessage(later)).toBeUndefined();
        expect(await queue.cancel('jobs', id)).toBe('not found');
        expect((await queue.stats('jobs'))[0]).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 1 });
    }, 60_000);
}

describe('cancel across processes: sqlite', () => {
    cancelAcrossProcesses(async () => {
        const dir = tempDir();
        const path = dir.file('queue.sqlite');
        return { queue: new BrokerQueue(new SqliteQueueAdapter({ path }), { logger: new MemoryLogger() }), args: ['sqlite', path], cleanup: async () => dir.remove() };
    });
});

describePostgres('cancel across processes: postgres', () => {
    cancelAcrossProcesses(async () => {
        const schema = testSchema();
        return {
            queue: new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }), { logger: new MemoryLogger() }),
            args: ['postgres', postgresUrl, schema],
            cleanup: () => dropSchema(schema),
        };
    });
});
