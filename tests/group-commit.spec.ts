/**
 * Concurrent produce() calls share a transaction (group commit) only to save commits: a request the
 * storage rejects for its data fails alone, on every adapter.
 */
import Database from 'better-sqlite3';
import { BrokerQueue, PostgresQueueAdapter, QueueStorage, QueueStorageBusyError, QueueStorageDataError, SqliteQueueAdapter } from '../src';
import { EnqueueRequest } from '../src/storage';
import { MemoryLogger } from './support/logger';
import { describePostgres, dropSchema, postgresUrl, sql, testSchema } from './support/postgres';
import { tempDir } from './support/temp';
import { deferred } from './support/wait';

interface Fixture {
    storage: QueueStorage;
    /** Makes the database itself reject every message of priority 13 (a trigger or a CHECK constraint). */
    rejectPriority13(): Promise<void>;
    cleanup(): Promise<void>;
}

/** Counts the storage's enqueue transactions; the storage itself is real. */
function counting(storage: QueueStorage): { storage: QueueStorage, batches: number[] } {
    const batches: number[] = [];
    const enqueue = storage.enqueue.bind(storage);
    storage.enqueue = (requests: EnqueueRequest[]) => {
        batches.push(requests.length);
        return enqueue(requests);
    };
    return { storage, batches };
}

function groupCommitSuite(name: string, factory: () => Fixture) {
    describe(`group commit: ${name}`, () => {
        let fixture: Fixture;
        let queue: BrokerQueue;
        let batches: number[];

        beforeEach(async () => {
            fixture = factory();
            ({ batches } = counting(fixture.storage));
            queue = new BrokerQueue(fixture.storage, { logger: new MemoryLogger() });
            await queue.connect();
            await fixture.rejectPriority13();
        });

        afterEach(async () => {
            await queue.close();
            await fixture.cleanup();
        });

        test('a request the storage rejects fails alone; the others of its commit are stored', async () => {
            const a = queue.channel<string>('a');
            const b = queue.channel<string>('b');
            batches.length = 0;
            const results = await Promise.allSettled([
                a.produce('a1'), b.produce('b1'), a.produce('a2'),
                b.produce('bad', { priority: 13 }),
                a.produce('a3'), b.produce('b2'), a.produce('a4'),
            ]);
            // They shared one commit, which failed; then halves were written again.
            expect(batches[0]).toBe(7);
            expect(results.map(v => v.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
            const error = (results[3] as PromiseRejectedResult).reason;
            expect(error).toBeInstanceOf(QueueStorageDataError);
            expect(error.message).toMatch(/rejected a value/);
            const ids = results.filter(v => v.status === 'fulfilled').map(v => (v as PromiseFulfilledResult<{ id: string }>).value.id);
            expect(new Set(ids).size).toBe(6);
            expect((await queue.stats('a'))[0].pending).toBe(4);
            expect((await queue.stats('b'))[0].pending).toBe(2);
            // In order: the ids of one channel's produce calls ascend as they were called.
            const received: string[] = [];
            const all = deferred();
            const release = await a.consume(data => {
                if (received.push(data) === 4) all.resolve();
            });
            await all.promise;
            await release();
            expect(received).toEqual(['a1', 'a2', 'a3', 'a4']);
        });

        test('produceMany stays all or nothing', async () => {
            const a = queue.channel<string>('a');
            await expect(a.produceMany(['x', 'y'], { priority: 13 })).rejects.toBeInstanceOf(QueueStorageDataError);
            const [x, y] = await Promise.allSettled([a.produceMany(['x', 'y']), a.produce('z', { priority: 13 })]);
            expect(x.status).toBe('fulfilled');
            expect(y.status).toBe('rejected');
            expect((await queue.stats('a'))[0].pending).toBe(2);
        });
    });
}

groupCommitSuite('sqlite', () => {
    const dir = tempDir();
    const path = dir.file('queue.sqlite');
    return {
        storage: new SqliteQueueAdapter({ path }),
        async rejectPriority13() {
            const db = new Database(path);
            db.exec("CREATE TRIGGER unlucky BEFORE INSERT ON queue_messages WHEN NEW.priority = 13 BEGIN SELECT RAISE(ABORT, 'priority 13 is unlucky'); END");
            db.close();
        },
        async cleanup() {
            dir.remove();
        },
    };
});

describePostgres('postgres', () => {
    groupCommitSuite('postgres', () => {
        const schema = testSchema();
        return {
            storage: new PostgresQueueAdapter({ connectionString: postgresUrl, schema }),
            async rejectPriority13() {
                await sql(`ALTER TABLE "${schema}".queue_messages ADD CONSTRAINT unlucky CHECK (priority <> 13)`);
            },
            cleanup: () => dropSchema(schema),
        };
    });
});

describe('group commit: other errors', () => {
    test('a storage that is busy fails the whole group once, without writing its requests again one by one', async () => {
        const dir = tempDir();
        const path = dir.file('queue.sqlite');
        const { storage, batches } = counting(new SqliteQueueAdapter({ path, busyTimeout: '100ms' }));
        const queue = new BrokerQueue(storage, { logger: new MemoryLogger() });
        await queue.connect();
        const locker = new Database(path);
        locker.exec('BEGIN IMMEDIATE');
        try {
            const channel = queue.channel<number>('n');
            const results = await Promise.allSettled([channel.produce(1), channel.produce(2), channel.produce(3)]);
            expect(results.every(v => v.status === 'rejected' && v.reason instanceof QueueStorageBusyError)).toBe(true);
            expect(batches).toEqual([3]);
        } finally {
            locker.exec('ROLLBACK');
            locker.close();
            await queue.close();
            dir.remove();
        }
    });
});
