import { BrokerQueue, BrokerQueueChannel, PostgresQueueAdapter } from '../../src';
import { BenchMessage } from '../bench-types';
import { dropSchema } from '../lib/postgres-schema';
import { settings as benchSettings } from '../lib/settings';
import { silentLogger } from '../lib/silent-logger';
import { uniqueName } from '../lib/unique-name';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

function newQueue(connectionString: string, schema: string): BrokerQueue {
    return new BrokerQueue(new PostgresQueueAdapter({ connectionString, schema }), { logger: silentLogger });
}

/** Our PostgreSQL adapter; each setup() is a fresh schema, dropped by teardown(). */
class PostgresSystem implements BenchSystem {
    readonly name = 'postgres';
    protected queue?: BrokerQueue;
    protected channel?: BrokerQueueChannel<BenchMessage>;
    protected schema?: string;

    async setup(): Promise<WorkerConfig> {
        this.schema = uniqueName('bench_dbq');
        this.queue = newQueue(benchSettings.postgresUrl, this.schema);
        this.channel = this.queue.channel<BenchMessage>('bench');
        await this.queue.connect();
        return { connectionString: benchSettings.postgresUrl, schema: this.schema };
    }

    async produce(message: BenchMessage): Promise<void> {
        await this.channel!.produce(message);
    }

    async produceBulk(list: BenchMessage[]): Promise<void> {
        await this.channel!.produceMany(list);
    }

    async teardown(): Promise<void> {
        await this.queue?.close();
        if (this.schema) await dropSchema(benchSettings.postgresUrl, this.schema);
        this.queue = this.channel = this.schema = undefined;
    }
}

const startConsumer: StartConsumer = async (config, handler, concurrency) => {
    const queue = newQueue(String(config.connectionString), String(config.schema));
    await queue.channel<BenchMessage>('bench').consume(handler, { maxParallel: concurrency });
    return { stop: () => queue.close() };
};

export const postgres: BenchDriver = {
    createSystem: () => new PostgresSystem(),
    startConsumer,
    settings: 'package defaults: pool of 10, `maxParallel` = concurrency, `prefetch` = `maxParallel`, LISTEN/NOTIFY wake-up, `pollInterval` 1 s',
};
