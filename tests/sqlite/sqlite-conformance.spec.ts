import { SqliteQueueAdapter } from '../../src';
import { scheduleConformanceSuite } from '../schedule-suite';
import { storageConformanceSuite } from '../storage-suite';
import { tempDir } from '../support/temp';

const sqliteFile = async () => {
    const dir = tempDir();
    return { storage: new SqliteQueueAdapter({ path: dir.file('nested/queue.sqlite') }), cleanup: dir.remove };
};
const sqliteMemory = async () => ({ storage: new SqliteQueueAdapter({ path: ':memory:' }) });

storageConformanceSuite('sqlite file', sqliteFile);
storageConformanceSuite('sqlite :memory:', sqliteMemory);
scheduleConformanceSuite('sqlite file', sqliteFile);
scheduleConformanceSuite('sqlite :memory:', sqliteMemory);
