import { SqliteQueueAdapter } from '../../src';
import { storageConformanceSuite } from '../storage-suite';
import { tempDir } from '../support/temp';

storageConformanceSuite('sqlite file', async () => {
    const dir = tempDir();
    return { storage: new SqliteQueueAdapter({ path: dir.file('nested/queue.sqlite') }), cleanup: dir.remove };
});

storageConformanceSuite('sqlite :memory:', async () => ({ storage: new SqliteQueueAdapter({ path: ':memory:' }) }));
