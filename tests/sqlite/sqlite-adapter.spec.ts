/**
 * What only the SQLite adapter does, beyond the conformance suite and the failure cases.
 */
import Database from 'better-sqlite3';
import { SqliteQueueAdapter } from '../../src';
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
});
