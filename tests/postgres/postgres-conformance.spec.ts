import { PostgresQueueAdapter } from '../../src';
import { storageConformanceSuite } from '../storage-suite';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';

describePostgres('postgres', () => {
    storageConformanceSuite('postgres', async () => {
        const schema = testSchema();
        return {
            storage: new PostgresQueueAdapter({ connectionString: postgresUrl, schema }),
            location: { kind: 'postgres', connectionString: postgresUrl, schema },
            cleanup: () => dropSchema(schema),
        };
    });
});
