import { WorkerConfig } from '../systems/bench-system';

/** What the harness asks of one worker process; see bench/worker.ts. */
export interface WorkerRequest {
    system: string;
    config: WorkerConfig;
    mode: 'drain' | 'latency' | 'idle' | 'share' | 'record';
    concurrency: number;
    /** drain: stop after this many; latency: expect this many. */
    count: number;
    /** drain: stop this long after the first message. */
    seconds: number;
    /** The handler waits 1 or 2 ms (alternating by message id) before it resolves: a callback that takes time. */
    slow?: boolean;
    /** record: the file each handled message's id is appended to. */
    file?: string;
    /** record: how long each handler takes. */
    handlerMs?: number;
}
