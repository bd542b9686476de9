import { BrokerQueue as DeepkitBrokerQueue } from '@deepkit/broker';
import { BrokerQueue, PostgresQueueAdapter } from '../../src';
import { expectDisconnectStopsStockConsumers } from '../support/broker-compat';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';
import { deferred } from '../support/wait';

describePostgres('@deepkit/broker compatibility: the stock BrokerQueue over PostgresQueueAdapter', () => {
    let schema: string;
    let adapter: PostgresQueueAdapter;
    let ours: BrokerQueue;

    beforeEach(async () => {
        schema = testSchema();
        adapter = new PostgresQueueAdapter({ connectionString: postgresUrl, schema });
        await adapter.connect();
        ours = new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }));
    });

    afterEach(async () => {
        await ours.close();
        await adapter.disconnect();
        await dropSchema(schema);
    });

    test('produce and consume through the stock class', async () => {
        const channel = new DeepkitBrokerQueue(adapter).channel<{ id: number }>('users');
        await channel.produce<{ id: number }>({ id: 1 });
        const received = deferred<unknown>();
        const release = await channel.consume(message => received.resolve(message.data));
        expect(await received.promise).toEqual({ id: 1 });
        await release();
    });

    test('disconnect() waits for and stops consumers started through the stock class', async () => {
        await expectDisconnectStopsStockConsumers(adapter, ours);
    });
});
