import { Queue, Worker } from 'bullmq';
import { BenchMessage } from '../bench-types';
import { settings as benchSettings } from '../lib/settings';
import { uniqueName } from '../lib/unique-name';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

function connection(config: WorkerConfig = {}) {
    return { host: String(config.host ?? benchSettings.redisHost), port: Number(config.port ?? benchSettings.redisPort) };
}

/** BullMQ on the local Redis; each setup() is a fresh queue name, obliterated by teardown(). */
class BullMQSystem implements BenchSystem {
    readonly name = 'bullmq';
    protected queue?: Queue;

    async setup(): Promise<WorkerConfig> {
        const name = uniqueName('bench');
        this.queue = new Queue(name, { connection: connection() });
        await this.queue.waitUntilReady();
        return { ...connection(), queue: name };
    }

    async produce(message: BenchMessage): Promise<void> {
        await this.queue!.add('bench', message);
    }

    async produceBulk(list: BenchMessage[]): Promise<void> {
        await this.queue!.addBulk(list.map(data => ({ name: 'bench', data })));
    }

    async teardown(): Promise<void> {
        if (!this.queue) return;
        await this.queue.obliterate({ force: true });
        await this.queue.close();
        this.queue = undefined;
    }
}

const startConsumer: StartConsumer = async (config, handler, concurrency) => {
    const worker = new Worker<BenchMessage>(String(config.queue), async job => handler(job.data), { connection: connection(config), concurrency });
    worker.on('error', error => console.error('bullmq worker:', error));
    await worker.waitUntilReady();
    return { stop: () => worker.close() };
};

export const bullmq: BenchDriver = {
    createSystem: () => new BullMQSystem(),
    startConsumer,
    settings: '`Queue.add` / `addBulk`, `Worker` with `concurrency`, all other options default (completed jobs are kept, as by default)',
};
