import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BrokerQueue, BrokerQueueChannel, SqliteQueueAdapter } from '../../src';
import { BenchMessage } from '../bench-types';
import { silentLogger } from '../lib/silent-logger';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

type Synchronous = 'full' | 'normal';

/** Our SQLite adapter; each setup() is a fresh file in a temp folder. */
class SqliteSystem implements BenchSystem {
    readonly name: string;
    protected queue?: BrokerQueue;
    protected channel?: BrokerQueueChannel<BenchMessage>;
    protected dir?: string;

    constructor(protected readonly synchronous: Synchronous) {
        this.name = `sqlite-${synchronous}`;
    }

    async setup(): Promise<WorkerConfig> {
        this.dir = mkdtempSync(join(tmpdir(), 'dbq-bench-'));
        const path = join(this.dir, 'queue.sqlite');
        this.queue = new BrokerQueue(new SqliteQueueAdapter({ path, synchronous: this.synchronous }), { logger: silentLogger });
        this.channel = this.queue.channel<BenchMessage>('bench');
        await this.queue.connect();
        return { path, synchronous: this.synchronous };
    }

    async produce(message: BenchMessage): Promise<void> {
        await this.channel!.produce(message);
    }

    async produceBulk(list: BenchMessage[]): Promise<void> {
        await this.channel!.produceMany(list);
    }

    async teardown(): Promise<void> {
        await this.queue?.close();
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
        this.queue = this.channel = this.dir = undefined;
    }
}

const startConsumer: StartConsumer = async (config, handler, concurrency) => {
    const adapter = new SqliteQueueAdapter({ path: String(config.path), synchronous: config.synchronous as Synchronous });
    const queue = new BrokerQueue(adapter, { logger: silentLogger });
    await queue.channel<BenchMessage>('bench').consume(handler, { maxParallel: concurrency });
    return { stop: () => queue.close() };
};

const settings = 'package defaults: `maxParallel` = concurrency, `prefetch` = `maxParallel`, `pollInterval` 1 s, lease 30 s';

export const sqliteFull: BenchDriver = { createSystem: () => new SqliteSystem('full'), startConsumer, settings: `synchronous FULL (default); ${settings}` };
export const sqliteNormal: BenchDriver = { createSystem: () => new SqliteSystem('normal'), startConsumer, settings: `synchronous NORMAL; ${settings}` };
