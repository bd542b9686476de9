import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BrokerQueue, BrokerQueueChannel } from '../../src';
import { BenchMessage } from '../bench-types';
import { baseLibraryPath, queueLibrary } from '../lib/base-library';
import { silentLogger } from '../lib/silent-logger';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

type Synchronous = 'full' | 'normal';

/** Our SQLite adapter; each setup() is a fresh file in a temp folder. `base`: the code of BENCH_BASE. */
class SqliteSystem implements BenchSystem {
    readonly name: string;
    protected queue?: BrokerQueue;
    protected channel?: BrokerQueueChannel<BenchMessage>;
    protected dir?: string;

    constructor(protected readonly synchronous: Synchronous, protected readonly base = false) {
        this.name = `sqlite-${synchronous}${base ? '@base' : ''}`;
    }

    async setup(): Promise<WorkerConfig> {
        this.dir = mkdtempSync(join(tmpdir(), 'dbq-bench-'));
        const path = join(this.dir, 'queue.sqlite');
        const config: WorkerConfig = { path, synchronous: this.synchronous };
        if (this.base) config.library = baseLibraryPath();
        const { BrokerQueue, SqliteQueueAdapter } = queueLibrary(config);
        this.queue = new BrokerQueue(new SqliteQueueAdapter({ path, synchronous: this.synchronous }), { logger: silentLogger });
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
        if (this.dir) rmSync(this.dir, { recursive: true, force: true });
        this.queue = this.channel = this.dir = undefined;
    }
}

const startConsumer: StartConsumer = async (config, handler, concurrency) => {
    const { BrokerQueue, SqliteQueueAdapter } = queueLibrary(config);
    const adapter = new SqliteQueueAdapter({ path: String(config.path), synchronous: config.synchronous as Synchronous });
    const queue = new BrokerQueue(adapter, { logger: silentLogger });
    // config.flow: flow-control consume options (bench/scenarios/flow.ts), JSON.
    await queue.channel<BenchMessage>('bench').consume(handler, { maxParallel: concurrency, ...(config.flow ? JSON.parse(String(config.flow)) : {}) });
    return { stop: () => queue.close() };
};

const settings = 'package defaults: `maxParallel` = concurrency, `prefetch` = `maxParallel`, `pollInterval` 1 s, lease 30 s';

export const sqliteFull: BenchDriver = { createSystem: () => new SqliteSystem('full'), startConsumer, preload: config => void queueLibrary(config), settings: `synchronous FULL (default); ${settings}` };
export const sqliteNormal: BenchDriver = { createSystem: () => new SqliteSystem('normal'), startConsumer, preload: config => void queueLibrary(config), settings: `synchronous NORMAL; ${settings}` };
export const sqliteFullBase: BenchDriver = { createSystem: () => new SqliteSystem('full', true), startConsumer, preload: config => void queueLibrary(config), settings: 'sqlite-full on the code of BENCH_BASE' };
export const sqliteNormalBase: BenchDriver = { createSystem: () => new SqliteSystem('normal', true), startConsumer, preload: config => void queueLibrary(config), settings: 'sqlite-normal on the code of BENCH_BASE' };
