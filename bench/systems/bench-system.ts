import { BenchMessage } from '../bench-types';

/** What a worker process needs to reach one run's storage: plain JSON, passed on the command line. */
export type WorkerConfig = Record<string, string | number | boolean>;

/**
 * The producer side of one queue system, as the scenarios drive it. Every
 * measurement gets fresh, empty storage (a file, a schema or a queue name)
 * from `setup()`, and `teardown()` removes it again.
 */
export interface BenchSystem {
    readonly name: string;
    setup(): Promise<WorkerConfig>;
    /** One message, resolved when the system says it is stored. */
    produce(message: BenchMessage): Promise<void>;
    /** Many messages through the system's fastest documented bulk call. */
    produceBulk(list: BenchMessage[]): Promise<void>;
    teardown(): Promise<void>;
}

/** A running consumer inside a worker process. */
export interface BenchConsumer {
    /** Stops taking messages and waits for running handlers and their acknowledgements. */
    stop(): Promise<void>;
}

/** A handler that returns a promise is awaited, as each system's worker API does. */
export type BenchHandler = (message: BenchMessage) => void | Promise<void>;

/** The consumer side of one system: its normal worker API at the given concurrency. */
export type StartConsumer = (config: WorkerConfig, handler: BenchHandler, concurrency: number) => Promise<BenchConsumer>;

export interface BenchDriver {
    createSystem(): BenchSystem;
    startConsumer: StartConsumer;
    /** Loads the code startConsumer needs, for a worker that must be ready before it is told to go. */
    preload?(config: WorkerConfig): void;
    /** Settings worth recording in RESULTS.md. */
    settings: string;
}
