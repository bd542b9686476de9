import { BrokerQueue, BrokerQueueChannel } from '../../src';
import { BenchMessage } from '../bench-types';
import { baseLibraryPath, queueLibrary } from '../lib/base-library';
import { dropSchema } from '../lib/postgres-schema';
import { settings as benchSettings } from '../lib/settings';
import { silentLogger } from '../lib/silent-logger';
import { uniqueName } from '../lib/unique-name';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

function newQueue(config: WorkerConfig): BrokerQueue {
    const { BrokerQueue, PostgresQueueAdapter } = queueLibrary(config);
    return new BrokerQueue(new PostgresQueueAdapter({ connectionString: String(config.connectionString), schema: String(config.schema) }), { logger: silentLogger });
}

/** Our PostgreSQL adapter; each setup() is a fresh schema, dropped by teardown(). `base`: the code of BENCH_BASE. */
class PostgresSystem implements BenchSystem {
    readonly name: string;
    protected queue?: BrokerQueue;
    protected channel?: BrokerQueueChannel<BenchMessage>;
    protected schema?: string;

    constructor(protected readonly base = false) {
        this.name = base ? 'postgres@base' : 'postgres';
    }

    async setup(): Promise<WorkerConfig> {
        this.schema = uniqueName('bench_dbq');
        const config: WorkerConfig = { connectionString: benchSettings.postgresUrl, schema: this.schema };
        if (this.base) config.library = baseLibraryPath();
        this.queue = newQueue(config);
        this.channel = this.queue.channel<BenchMessage>('bench');
        await this.queue.connect();
        return config;
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
    const queue = newQueue(config);
    // config.flow: flow-control consume options (bench/scenarios/flow.ts), JSON.
    await queue.channel<BenchMessage>('bench').consume(handler, { maxParallel: concurrency, ...(config.flow ? JSON.parse(String(config.flow)) : {}) });
    return { stop: () => queue.close() };
};

export const postgres: BenchDriver = {
    createSystem: () => new PostgresSystem(),
    startConsumer,
    preload: config => void queueLibrary(config),
    settings: 'package defaults: pool of 10, `maxParallel` = concurrency, `prefetch` = `maxParallel`, LISTEN/NOTIFY wake-up, `pollInterval` 1 s',
};

export const postgresBase: BenchDriver = { createSystem: () => new PostgresSystem(true), startConsumer, preload: config => void queueLibrary(config), settings: 'postgres on the code of BENCH_BASE' };
