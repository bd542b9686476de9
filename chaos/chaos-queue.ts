import { BrokerQueue, BrokerQueueChannel, PostgresQueueAdapter, QueueLogger, SqliteQueueAdapter } from '../src';

/** Where a run's queue lives; handed to every child process as JSON. */
export type ChaosBackendConfig =
    | { kind: 'sqlite', path: string }
    | { kind: 'postgres', connectionString: string, schema: string };

export const chaosChannelName = 'chaos';

/** The unique id of a message is `producer:seq`, carried in the message itself. */
export type ChaosJob = { producer: string, seq: number };

export interface ChaosChannelSettings {
    maxAttempts: number;
    lease: number;
}

/** Warnings and errors go to stderr (a file per process), with a time, so they can be lined up with kills and restarts. */
const stderrLogger: QueueLogger = {
    error: (...args: any[]) => console.error(Date.now(), 'error', ...args),
    warn: (...args: any[]) => console.error(Date.now(), 'warn', ...args),
    log: () => undefined,
    debug: () => undefined,
};

export function createChaosQueue(config: ChaosBackendConfig, logger: QueueLogger = stderrLogger): BrokerQueue {
    const adapter = config.kind === 'sqlite'
        ? new SqliteQueueAdapter({ path: config.path })
        // Long enough to ride through a server restart instead of failing the call.
        : new PostgresQueueAdapter({ connectionString: config.connectionString, schema: config.schema, connectTimeout: '30s' });
    return new BrokerQueue(adapter, { logger, pollInterval: '500ms' });
}

export function chaosChannel(queue: BrokerQueue, settings: ChaosChannelSettings): BrokerQueueChannel<ChaosJob> {
    return queue.channel<ChaosJob>(chaosChannelName, { maxAttempts: settings.maxAttempts, lease: settings.lease });
}
