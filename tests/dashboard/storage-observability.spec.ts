import Database from 'better-sqlite3';
import { PostgresQueueAdapter, SqliteQueueAdapter } from '../../src';
import { describePostgres, dropSchema, postgresUrl, sql, testSchema } from '../support/postgres';
import { tempDir } from '../support/temp';
import { observabilitySuite } from './observability-suite';

observabilitySuite('sqlite', async () => {
    const dir = tempDir();
    const path = dir.file('queue.sqlite');
    return {
        storage: new SqliteQueueAdapter({ path }),
        ageHistory: async minutes => {
            const db = new Database(path);
            db.prepare('UPDATE queue_throughput SET minute = minute - ?').run(minutes);
            db.close();
        },
        cleanup: async () => dir.remove(),
    };
});

describePostgres('postgres', () => {
    observabilitySuite('postgres', async () => {
        const schema = testSchema();
        return {
            storage: new PostgresQueueAdapter({ connectionString: postgresUrl, schema }),
            ageHistory: async minutes => { await sql(`UPDATE "${schema}".queue_throughput SET minute = minute - $1`, [minutes]); },
            cleanup: () => dropSchema(schema),
        };
    });
});
