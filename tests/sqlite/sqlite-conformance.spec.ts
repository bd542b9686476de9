import { SqliteQueueAdapter } from '../../src';
import { limitsConformanceSuite } from '../limits-suite';
import { scheduleConformanceSuite } from '../schedule-suite';
import { storageConformanceSuite } from '../storage-suite';
import { flowConformanceSuite } from '../flow-suite';
import { tempDir } from '../support/temp';

const sqliteFile = async () => {
    const dir = tempDir();
    const path = dir.file('nested/queue.sqlite');
    return { storage: new SqliteQueueAdapter({ path }), location: { kind: 'sqlite' as const, path }, cleanup: dir.remove };
};
const sqliteMemory = async () => ({ storage: new SqliteQueueAdapter({ path: ':memory:' }) });

storageConformanceSuite('sqlite file', sqliteFile);
storageConformanceSuite('sqlite :memory:', sqliteMemory, { shared: false });
scheduleConformanceSuite('sqlite file', sqliteFile);
flowConformanceSuite('sqlite file', sqliteFile);
flowConformanceSuite('sqlite :memory:', sqliteMemory, { shared: false });
scheduleConformanceSuite('sqlite :memory:', sqliteMemory);
limitsConformanceSuite('sqlite file', sqliteFile);
