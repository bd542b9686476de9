import BetterSqlite3 from 'better-sqlite3';
import { queueAdapterFor, SqliteQueueAdapter } from '../../src';
import { openAppDatabase } from '../fixtures/orm-app';
import { tempDir } from '../support/temp';
import { OrmFixture, ormSuite } from './orm-suite';

function sqliteFixture(adapterFor: (database: ReturnType<typeof openAppDatabase>, path: string) => OrmFixture['adapter']) {
    return async (): Promise<OrmFixture> => {
        const dir = tempDir();
        const path = dir.file('app.sqlite');
        const database = openAppDatabase('sqlite', path);
        const otherPath = dir.file('other.sqlite');
        const otherDatabase = openAppDatabase('sqlite', otherPath);
        return {
            backend: 'sqlite',
            database,
            adapter: adapterFor(database, path),
            otherDatabase,
            otherHasQueueTables: async () => {
                const db = new BetterSqlite3(otherPath, { readonly: true });
                try {
                    return !!db.prepare("SELECT 1 FROM sqlite_master WHERE name LIKE 'queue_%'").get();
                } finally {
                    db.close();
                }
            },
            cleanup: async () => {
                database.disconnect(true);
                otherDatabase.disconnect(true);
                dir.remove();
            },
        };
    };
}

ormSuite('sqlite, queueAdapterFor(database)', sqliteFixture(database => queueAdapterFor(database)));
ormSuite('sqlite, SqliteQueueAdapter({ path }) on the ORM\'s file', sqliteFixture((_, path) => new SqliteQueueAdapter({ path })));
