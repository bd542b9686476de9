/**
 * Bad storage conditions get a named error with advice, and lose nothing.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'fs';
import { BrokerQueue, QueueStorageBusyError, QueueStorageError, SqliteQueueAdapter } from '../../src';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';

type Job = { n: number, text: string };

describe('sqlite: failures', () => {
    let dir: ReturnType<typeof tempDir>;
    beforeEach(() => dir = tempDir());
    afterEach(() => dir.remove());

    function queueAt(path: string, options: ConstructorParameters<typeof SqliteQueueAdapter>[0] = {}) {
        return new BrokerQueue(new SqliteQueueAdapter({ path, ...options }), { logger: new MemoryLogger() });
    }

    test('creates missing folders and the file in WAL mode, at either synchronous level', async () => {
        for (const synchronous of ['full', 'normal'] as const) {
            const path = dir.file(`a/b/${synchronous}.sqlite`);
            const queue = queueAt(path, { synchronous });
            await queue.channel<Job>('jobs').produce({ n: 1, text: 'x' });
            await queue.close();
            expect(existsSync(path)).toBe(true);
            const db = new Database(path);
            expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
            expect(db.prepare('SELECT COUNT(*) AS n FROM queue_messages').get()).toEqual({ n: 1 });
            db.close();
        }
    });

    test('a file that is not a database is a clear error and is left untouched', async () => {
        const path = dir.file('queue.sqlite');
        const notes = 'this is not a database, but somebody\'s notes '.repeat(200);
        writeFileSync(path, notes);
        const queue = queueAt(path);
        const error = await queue.connect().catch(e => e);
        expect(error).toBeInstanceOf(QueueStorageError);
        expect(error.message).toMatch(/is not a valid queue database or is corrupt/);
        expect(error.code).toBe('SQLITE_NOTADB');
        await expect(queue.channel<Job>('jobs').produce({ n: 1, text: 'x' })).rejects.toBeInstanceOf(QueueStorageError);
        expect(readFileSync(path, 'utf8')).toBe(notes);
    });

    test('a database locked by another process longer than busyTimeout: named error, nothing stored, works after', async () => {
        const path = dir.file('queue.sqlite');
        const queue = queueAt(path, { busyTimeout: '200ms' });
        const channel = queue.channel<Job>('jobs');
        await queue.connect();
        const locker = new Database(path);
        locker.exec('BEGIN IMMEDIATE');
        const error = await channel.produce({ n: 1, text: 'blocked' }).catch(e => e);
        expect(error).toBeInstanceOf(QueueStorageBusyError);
        expect(error.message).toContain('busyTimeout');
        locker.exec('ROLLBACK');
        locker.close();
        expect((await queue.stats('jobs'))[0].pending).toBe(0);
        await channel.produce({ n: 2, text: 'after' });
        expect((await queue.stats('jobs'))[0].pending).toBe(1);
        await queue.close();
    });

    test('a write waiting for another connection\'s lock does not stop the event loop, and takes the lock once it is free', async () => {
        const path = dir.file('queue.sqlite');
        const queue = queueAt(path, { busyTimeout: '5s' });
        const channel = queue.channel<Job>('jobs');
        await queue.connect();
        // The lock's holder is in this process: it can only let go if the waiting write leaves the event loop running.
        // SQLite's own busy handler waits inside the call, so this produce used to fail after the 5 s.
        const locker = new Database(path);
        locker.exec('BEGIN IMMEDIATE');
        const produced = channel.produce({ n: 1, text: 'waits' });
        let ticks = 0;
        await new Promise<void>(resolve => {
            const timer = setInterval(() => {
                if (++ticks < 5) return;
                clearInterval(timer);
                locker.exec('COMMIT');
                resolve();
            }, 10);
        });
        await expect(produced).resolves.toMatchObject({ deduplicated: false });
        locker.close();
        expect((await queue.stats('jobs'))[0].pending).toBe(1);
        await queue.close();
    });

    // A small tmpfs fills up for real; mounting one needs Linux and root.
    const cannotMount = process.platform !== 'linux' ? `it mounts a small tmpfs, which needs Linux (this is ${process.platform})`
        : process.getuid?.() !== 0 ? `it mounts a small tmpfs, which needs root (uid is ${process.getuid?.()})` : undefined;
    const fullDisk = 'a full disk: named error, nothing half-written, earlier messages intact';
    // Skipped locally with a warning saying why; under CI it runs or fails.
    if (cannotMount && !process.env.CI) console.warn(`sqlite-failures: '${fullDisk}' SKIPPED: ${cannotMount}. Run the tests as root on Linux to include it.`);
    (cannotMount && !process.env.CI ? test.skip : test)(fullDisk, async () => {
        if (cannotMount) throw new Error(`Cannot run: ${cannotMount}. Under CI (CI is set) it must not skip: run the tests as root on Linux.`);
        const mount = dir.file('small');
        mkdirSync(mount);
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', mount]);
        try {
            const path = `${mount}/queue.sqlite`;
            const queue = queueAt(path, { synchronous: 'normal' });
            const channel = queue.channel<Job>('jobs');
            const text = 'x'.repeat(4000);
            let stored = 0;
            let error: any;
            for (let n = 0; n < 1000 && !error; n++) {
                try {
                    await channel.produce({ n, text });
                    stored++;
                } catch (e) {
                    error = e;
                }
            }
            expect(error).toBeInstanceOf(QueueStorageError);
            expect(error.message).toMatch(/disk is full|failed/);
            expect(stored).toBeGreaterThan(10);
            await queue.close();
            // Reopen with room to spare: every resolved message is there, the failed one is not.
            execFileSync('mount', ['-o', 'remount,size=8m', mount]);
            const reopened = queueAt(path);
            expect((await reopened.stats('jobs'))[0].pending).toBe(stored);
            await reopened.close();
        } finally {
            execFileSync('umount', ['-l', mount]);
        }
    });

    test('message ids other than canonical positive integers are a named error', async () => {
        const queue = queueAt(':memory:');
        const [{ id }] = await queue.channel<Job>('jobs').produceMany([{ n: 1, text: 'x' }]);
        expect(await queue.retryFailed('jobs', [id])).toBe(0);
        for (const bad of ['0', '007', '-1', '1e3', ' 1', '1.5', '', 'x', '99999999999999999']) {
            await expect(queue.retryFailed('jobs', [bad])).rejects.toMatchObject({ name: 'QueueOptionError' });
        }
        await queue.close();
    });
});
