/**
 * A write that meets another process's write lock waits without blocking the event loop, and the writes that
 * wait together commit together, each on its own (sqlite-write-queue.ts).
 */
import Database from 'better-sqlite3';
import { BrokerQueue, SqliteQueueAdapter } from '../../src';
import { SqliteWriteQueue } from '../../src/adapters/sqlite/sqlite-write-queue';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';

const locker = 'tests/fixtures/sqlite-locker.ts';

describe('sqlite: waiting for another process\'s write lock', () => {
    let dir: ReturnType<typeof tempDir>;
    let path: string;
    let child: Child | undefined;

    beforeEach(() => {
        dir = tempDir();
        path = dir.file('queue.sqlite');
    });
    afterEach(async () => {
        child?.kill();
        await child?.exited;
        child = undefined;
        dir.remove();
    });

    async function lockedByChild(): Promise<Child> {
        child = new Child(locker, [path]);
        await child.waitForLine('locked');
        return child;
    }

    test('timers run while a produce waits for the lock; it commits once the other process lets go', async () => {
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path, busyTimeout: '20s' }), { logger: new MemoryLogger() });
        const channel = queue.channel<{ n: number }>('jobs');
        await queue.connect();
        const holder = await lockedByChild();
        let stored = false;
        const produced = channel.produce({ n: 1 }).then(() => stored = true);
        // Waiting in SQLite's busy handler, this timer could not fire before the busy timeout (20 s): nothing would release the lock.
        await new Promise(resolve => setTimeout(resolve, 50));
        expect(stored).toBe(false);
        holder.kill('SIGTERM');
        await holder.exited;
        await produced;
        expect((await queue.stats('jobs'))[0].pending).toBe(1);
        await queue.close();
    });

    test('writes that waited together commit in one transaction; one that throws undoes only itself', async () => {
        const db = new Database(path);
        db.pragma('journal_mode = WAL');
        db.exec('CREATE TABLE t (v TEXT NOT NULL UNIQUE)');
        const writes = new SqliteWriteQueue(db, { busyTimeout: 20_000, synchronous: 'normal', closedError: () => new Error('closed') });
        const holder = await lockedByChild();
        const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
        const commits = jest.spyOn((writes as unknown as { commit: Database.Statement }).commit, 'run');
        const a = writes.write(() => insert.run('a').changes, false);
        const b = writes.write(() => {
            insert.run('b');
            insert.run('a');
        }, false).catch(error => error);
        const c = writes.write(() => insert.run('c').changes, true);
        holder.kill('SIGTERM');
        await holder.exited;
        expect(await a).toBe(1);
        expect(await b).toMatchObject({ code: 'SQLITE_CONSTRAINT_UNIQUE' });
        expect(await c).toBe(1);
        expect((db.prepare('SELECT v FROM t ORDER BY v').all() as { v: string }[]).map(v => v.v)).toEqual(['a', 'c']);
        // b's insert of 'b' went with it.
        expect(commits).toHaveBeenCalledTimes(1);
        db.close();
    });
});
