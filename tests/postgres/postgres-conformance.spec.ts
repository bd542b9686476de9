import { PostgresQueueAdapter } from '../../src';
import { limitsConformanceSuite } from '../limits-suite';
import { scheduleConformanceSuite } from '../schedule-suite';
import { storageConformanceSuite } from '../storage-suite';
import { flowConformanceSuite } from '../flow-suite';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';

describePostgres('postgres', () => {
    const postgres = async () => {
        const schema = testSchema();
        return {
            storage: new PostgresQueueAdapter({ connectionString: postgresUrl, schema }),
            location: { kind: 'postgres' as const, connectionString: postgresUrl, schema },
            cleanup: () => dropSchema(schema),
        };
    };
    storageConformanceSuite('postgres', postgres);
    scheduleConformanceSuite('postgres', postgres);
    flowConformanceSuite('postgres', postgres);
    limitsConformanceSuite('postgres', postgres);
});
