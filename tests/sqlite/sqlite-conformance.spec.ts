import { SqliteQueueAdapter } from '../../src';
import { storageConformanceSuite } from '../storage-suite';
import { tempDir } from '../support/temp';

storageConformanceSuite('sqlite file', async () => {
    const dir = tempDir();
    const path = dir.file('nested/queue.sqlite');
    return { storage: new SqliteQueueAdapter({ path }), location: { kind: 'sqlite', path }, cleanup: dir.remove };
});

storageConformanceSuite('sqlite :memory:', async () => ({ storage: new SqliteQueueAdapter({ path: ':memory:' }) }), { shared: false });
