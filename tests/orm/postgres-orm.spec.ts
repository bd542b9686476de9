import { PostgresQueueAdapter, queueAdapterFor } from '../../src';
import { openAppDatabase } from '../fixtures/orm-app';
import { describePostgres } from '../support/postgres';
import { createTestDatabase } from '../support/postgres-database';
import { OrmFixture, ormSuite } from './orm-suite';

function postgresFixture(adapterFor: (database: ReturnType<typeof openAppDatabase>, url: string) => OrmFixture['adapter']) {
    return async (): Promise<OrmFixture> => {
        const [app, other] = await Promise.all([createTestDatabase(), createTestDatabase()]);
        const database = openAppDatabase('postgres', app.url);
        const otherDatabase = openAppDatabase('postgres', other.url);
        return {
            backend: 'postgres',
            database,
            adapter: adapterFor(database, app.url),
            otherDatabase,
            otherHasQueueTables: async () => {
                const { Client } = require('pg') as typeof import('pg');
                const client = new Client({ connectionString: other.url });
                await client.connect();
                try {
                    const result = await client.query("SELECT count(*)::int AS n FROM information_schema.tables WHERE table_name LIKE 'queue_%'");
                    return result.rows[0].n > 0;
                } finally {
                    await client.end();
                }
            },
            cleanup: async () => {
                database.disconnect(true);
                otherDatabase.disconnect(true);
                await Promise.all([app.drop(), other.drop()]);
            },
        };
    };
}

describePostgres('postgres ORM transactions', () => {
    ormSuite('postgres, queueAdapterFor(database)', postgresFixture(database => queueAdapterFor(database)));
    ormSuite('postgres, PostgresQueueAdapter({ connectionString }) to the ORM\'s database', postgresFixture((_, url) => new PostgresQueueAdapter({ connectionString: url })));
});
