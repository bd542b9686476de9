import { ChaosBackendConfig, ChaosChannelSettings } from './chaos-queue';

/** What a producer process is told (argv[2], JSON). */
export interface ProducerConfig {
    backend: ChaosBackendConfig;
    channel: ChaosChannelSettings;
    incarnation: string;
    ledger: string;
    /** This incarnation sends the slot's messages `first` to `total - 1` (earlier incarnations resolved the ones before). */
    first: number;
    total: number;
    /** Message i of the slot is due at `startedAt + duration * i' / total`, i' being the first message of i's burst. */
    startedAt: number;
    duration: number;
    burst: number;
    concurrency: number;
}

/** What a worker process is told (argv[2], JSON). */
export interface WorkerConfig {
    backend: ChaosBackendConfig;
    channel: ChaosChannelSettings;
    incarnation: string;
    log: string;
    maxParallel: number;
    workMax: number;
    seed: number;
}

/**
 * A worker whose consume() was rejected with a QueueStorageError writes `F <t> <code>` and exits with this code;
 * the fleet starts it again, as a supervisor would. During a server restart that is explained (analysis.ts).
 */
export const consumeRejectedExitCode = 3;
