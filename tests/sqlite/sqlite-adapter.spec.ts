/**
 * What only the SQLite adapter does, beyond the conformance suite and the failure cases.
 */
import Database from 'better-sqlite3';
import { SqliteQueueAdapter } from '../../src';
import { hostIdentity } from '../../src/process-liveness';
import { tempDir } from '../support/temp';

describe('sqlite adapter', () => {
    let dir: ReturnType<typeof tempDir>;
    beforeEach(() => dir = tempDir());
    afterEach(() => dir.remove());

    test('commits checkpoint the WAL every 10,000 pages, not every 1,000 (each checkpoint stalls the commit that runs it)', async () => {
        const path = dir.file('queue.sqlite');
        const storage = new SqliteQueueAdapter({ path });
        await storage.connect();
        try {
            // One commit each, as sequential produce() calls make: several WAL pages per message.
            for (let i = 0; i < 400; i++) {
                await storage.enqueue([{ channel: 'n', payload: new Uint8Array([1]), delay: 0, priority: 0, maxAttempts: 5 }]);
            }
            const observer = new Database(path);
            try {
                const [{ log }] = observer.pragma('wal_checkpoint(PASSIVE)') as { log: number }[];
                // At SQLite's default, a commit had checkpointed and restarted the WAL before it reached 1000 pages.
                expect(log).toBeGreaterThan(1000);
                expect(log).toBeLessThan(10_000);
            } finally {
                observer.close();
            }
        } finally {
            await storage.disconnect();
        }
    });

    test('prune forgets consumers of other host identities that hold no lease and were not seen for an hour', async () => {
        const path = dir.file('queue.sqlite');
        const storage = new SqliteQueueAdapter({ path });
        await storage.connect();
        try {
            const db = new Database(path);
            const put = db.prepare('INSERT INTO queue_consumers (id, channel, host, pid, process_start, registered_at, seen_at) VALUES (?, ?, ?, ?, NULL, ?, ?)');
            const now = Date.now();
            const longAgo = now - 2 * 3_600_000;
            // A container with its own pid namespace, or this host before a reboot: no process here can check its pid.
            const elsewhere = 'other-host/boot/pid:[4026531836]';
            put.run('gone-elsewhere', 'n', elsewhere, 4242, longAgo, longAgo);
            put.run('leased-elsewhere', 'n', elsewhere, 4243, longAgo, longAgo);
            put.run('recent-elsewhere', 'n', elsewhere, 4244, now, now);
            // This host's consumers are judged by their pid (reclaim), not by prune.
            put.run('mine', 'n', hostIdentity(), process.pid, longAgo, longAgo);
            await storage.enqueue([{ channel: 'n', payload: new Uint8Array([1]), delay: 0, priority: 0, maxAttempts: 5 }]);
            expect(await storage.claim('n', 'leased-elsewhere', 1, 600_000)).toHaveLength(1);
            await storage.prune();
            expect(db.prepare('SELECT id FROM queue_consumers ORDER BY id').all().map((row: any) => row.id)).toEqual(['leased-elsewhere', 'mine', 'recent-elsewhere']);
            db.close();
        } finally {
            await storage.disconnect();
        }
    });

    test('a live consumer that another process forgot registers again at its next lease renewal', async () => {
        const path = dir.file('queue.sqlite');
        const storage = new SqliteQueueAdapter({ path });
        await storage.connect();
        try {
            await storage.registerConsumer({ id: 'live', channel: 'n', host: hostIdentity(), pid: process.pid });
            const db = new Database(path);
            db.prepare('DELETE FROM queue_consumers').run();
            expect(await storage.renewLeases('live', [], 30_000)).toEqual([]);
            expect(db.prepare('SELECT id, pid FROM queue_consumers').all()).toEqual([{ id: 'live', pid: process.pid }]);
            // Unregistered, it stays forgotten.
            await storage.unregisterConsumer('live');
            await storage.renewLeases('live', [], 30_000);
            expect(db.prepare('SELECT id FROM queue_consumers').all()).toEqual([]);
            db.close();
        } finally {
            await storage.disconnect();
        }
    });
});
