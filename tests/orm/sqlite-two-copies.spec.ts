/**
 * Two copies of SQLite on one file in one process: the hazard, and the guard.
 * POSIX locks belong to the process; a SQLite library that closes its
 * descriptor of a file drops every lock the process holds on it, including
 * those another SQLite library took. The queue never lets a second copy open
 * its file: the ORM's connections to it go through the queue's better-sqlite3.
 */
import { SQLiteConnection } from '@deepkit/sqlite';
import BetterSqlite3 from 'better-sqlite3';
import { spawnSync } from 'child_process';
import { BrokerQueue, queueAdapterFor, QueueOptionError, SqliteQueueAdapter } from '../../src';
import { AppUser, openAppDatabase } from '../fixtures/orm-app';
import { MemoryLogger } from '../support/logger';
import { loadedSqliteLibraries, loadSecondSqlite } from '../support/second-sqlite';
import { tempDir } from '../support/temp';

type User = { id: number, username: string };

/** Whether another process can take the write lock right now (no waiting). */
function otherProcessCanWrite(path: string): boolean {
    const script = `const D = require(${JSON.stringify(require.resolve('better-sqlite3'))});
        const db = new D(process.argv[1], { timeout: 0 });
        try { db.exec('BEGIN IMMEDIATE'); db.exec('ROLLBACK'); console.log('yes'); } catch (e) { console.log(e.code); }`;
    return spawnSync(process.execPath, ['-e', script, path], { encoding: 'utf8' }).stdout.trim() === 'yes';
}

describe('sqlite: two copies of SQLite in one process', () => {
    let dir: ReturnType<typeof tempDir>;
    let SecondSqlite: typeof BetterSqlite3;
    const original = SQLiteConnection.DatabaseConstructor;

    beforeAll(() => {
        dir = tempDir();
        SecondSqlite = loadSecondSqlite(dir.path);
    });

    afterAll(() => {
        SQLiteConnection.DatabaseConstructor = original;
        dir.remove();
    });

    test('the hazard: a second copy closing the file drops the write lock the first one holds', () => {
        const path = dir.file('hazard.sqlite');
        const writer = new BetterSqlite3(path);
        writer.pragma('journal_mode = WAL');
        writer.exec('CREATE TABLE t (v)');
        writer.exec('BEGIN IMMEDIATE');
        writer.exec('INSERT INTO t VALUES (1)');
        expect(otherProcessCanWrite(path)).toBe(false);

        // The same library opening and closing the file keeps the lock (it defers the close).
        const same = new BetterSqlite3(path);
        same.prepare('SELECT count(*) FROM sqlite_master').get();
        same.close();
        expect(otherProcessCanWrite(path)).toBe(false);

        const second = new SecondSqlite(path);
        second.prepare('SELECT count(*) FROM sqlite_master').get();
        second.close();
        expect(loadedSqliteLibraries()).toBe(2);
        // Another process can write while `writer` thinks it holds the lock: two writers, a corrupt file.
        expect(otherProcessCanWrite(path)).toBe(true);
        writer.exec('ROLLBACK');
        writer.close();
    });

    test('the guard: with the ORM on a second copy, the ORM opens the queue file through the queue\'s SQLite', async () => {
        SQLiteConnection.DatabaseConstructor = SecondSqlite;
        const path = dir.file('guarded.sqlite');
        const database = openAppDatabase('sqlite', path);
        const queue = new BrokerQueue(queueAdapterFor(database), { logger: new MemoryLogger() });
        const unrelated = openAppDatabase('sqlite', dir.file('unrelated.sqlite'));
        try {
            await database.migrate();
            await unrelated.migrate();
            const channel = queue.channel<User>('users');
            await database.transaction(async session => {
                session.add(new AppUser(1, 'peter'));
                await channel.produce({ id: 1, username: 'peter' }, { session });
            });
            const pool = (adapter: unknown) => (adapter as { connectionPool: { firstConnection: { db: unknown } } }).connectionPool;
            expect(pool(database.adapter).firstConnection.db).toBeInstanceOf(BetterSqlite3);
            expect(pool(database.adapter).firstConnection.db).not.toBeInstanceOf(SecondSqlite);
            // Other files stay with the ORM's own SQLite.
            expect(pool(unrelated.adapter).firstConnection.db).toBeInstanceOf(SecondSqlite);
            expect((await queue.stats('users'))[0].pending).toBe(1);
        } finally {
            await queue.close();
            database.disconnect(true);
            unrelated.disconnect(true);
            SQLiteConnection.DatabaseConstructor = original;
        }
    });

    test('the guard: a file the ORM already opened through a second copy is refused, nothing written', async () => {
        SQLiteConnection.DatabaseConstructor = SecondSqlite;
        const path = dir.file('refused.sqlite');
        const database = openAppDatabase('sqlite', path);
        try {
            // The ORM's first connection opens the file before any queue adapter exists.
            await database.migrate();
            expect(() => queueAdapterFor(database)).toThrow(QueueOptionError);

            const queue = new BrokerQueue(new SqliteQueueAdapter({ path }), { logger: new MemoryLogger() });
            try {
                const channel = queue.channel<User>('users');
                const error = await database.transaction(async session => {
                    session.add(new AppUser(1, 'peter'));
                    return channel.produce({ id: 1, username: 'peter' }, { session }).catch(e => e);
                });
                expect(error).toBeInstanceOf(QueueOptionError);
                expect(error.message).toContain('another copy of better-sqlite3');
                expect((await queue.stats('users'))[0].pending).toBe(0);
            } finally {
                await queue.close();
            }
        } finally {
            database.disconnect(true);
            SQLiteConnection.DatabaseConstructor = original;
        }
    });
});
