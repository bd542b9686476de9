import { WorkerConfig } from '../systems/bench-system';
import { settings } from './settings';
import { spawnWorker } from './worker-process';

export interface DrainResult {
    /** Messages per second, first handler call to graceful stop. */
    rate: number;
    handled: number;
    peakRssMb: number;
}

/** One worker process drains up to `count` messages (or for `seconds`, default BENCH_DRAIN_SECONDS) from an already filled queue. */
export async function drainInWorker(system: string, config: WorkerConfig, count: number, concurrency: number, seconds = settings.drainSeconds): Promise<DrainResult> {
    const worker = spawnWorker({ system, config, mode: 'drain', concurrency, count, seconds });
    const result = await worker.next<{ handled: number, ms: number, peakRssKb: number }>('handled');
    await worker.exited;
    return { rate: result.handled / result.ms * 1000, handled: result.handled, peakRssMb: result.peakRssKb / 1024 };
}
