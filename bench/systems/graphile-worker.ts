import { Logger, makeWorkerUtils, run, WorkerUtils } from 'graphile-worker';
import { BenchMessage } from '../bench-types';
import { dropSchema } from '../lib/postgres-schema';
import { settings as benchSettings } from '../lib/settings';
import { uniqueName } from '../lib/unique-name';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

/** Errors only: graphile-worker logs every start at info level. */
const logger = new Logger(() => (level, message) => {
    if (level === 'error') console.error('graphile-worker:', message);
});

/** graphile-worker on the local PostgreSQL; each setup() is a fresh schema, dropped by teardown(). */
class GraphileWorkerSystem implements BenchSystem {
    readonly name = 'graphile-worker';
    protected utils?: WorkerUtils;
    protected schema?: string;

    async setup(): Promise<WorkerConfig> {
        this.schema = uniqueName('bench_graphile');
        this.utils = await makeWorkerUtils({ connectionString: benchSettings.postgresUrl, schema: this.schema, logger });
        await this.utils.migrate();
        return { connectionString: benchSettings.postgresUrl, schema: this.schema };
    }

    async produce(message: BenchMessage): Promise<void> {
        await this.utils!.addJob('bench', message);
    }

    async produceBulk(list: BenchMessage[]): Promise<void> {
        await this.utils!.addJobs(list.map(payload => ({ identifier: 'bench', payload })));
    }

    async teardown(): Promise<void> {
        await this.utils?.release();
        if (this.schema) await dropSchema(benchSettings.postgresUrl, this.schema);
        this.utils = this.schema = undefined;
    }
}

/**
 * The documented batching options (`localQueue`, `completeJobBatchDelay`),
 * at the local queue size the docs suggest as a starting point.
 */
const startConsumer: StartConsumer = async (config, handler, concurrency) => {
    const runner = await run({
        connectionString: String(config.connectionString),
        schema: String(config.schema),
        concurrency,
        noHandleSignals: true,
        logger,
        taskList: { bench: async payload => handler(payload as BenchMessage) },
        preset: { worker: { localQueue: { size: concurrency + 1 }, completeJobBatchDelay: 0 } },
    });
    return { stop: () => runner.stop() };
};

export const graphileWorker: BenchDriver = {
    createSystem: () => new GraphileWorkerSystem(),
    startConsumer,
    settings: '`addJob` / `addJobs`; `run` with `concurrency`, `localQueue.size` = concurrency + 1 (default off) and `completeJobBatchDelay` 0 (default off), LISTEN/NOTIFY, other options default',
};
