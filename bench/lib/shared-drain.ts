import { WorkerConfig } from '../systems/bench-system';
import { settings } from './settings';
import { spawnWorker } from './worker-process';

export interface SharedDrainResult {
    /** Messages per second, from the first handler call in any worker to the last in any. */
    rate: number;
    handled: number;
    /** Messages each worker handled. */
    shares: number[];
    /** CPU time of all workers together, start and stop included, per message handled: µs. */
    cpuPerMessage: number;
}

/**
 * `workers` processes drain one already filled queue at once: all are started and loaded first, then told to go
 * together, and told to stop once together they have handled `count` (or after BENCH_DRAIN_SECONDS).
 */
export async function drainShared(system: string, config: WorkerConfig, workers: number, count: number, concurrency: number, slow: boolean): Promise<SharedDrainResult> {
    const all = Array.from({ length: workers }, () => spawnWorker({ system, config, mode: 'share', concurrency, count, seconds: settings.drainSeconds, slow }));
    await Promise.all(all.map(v => v.next('ready')));
    const progress = all.map(() => 0);
    let stopped = false;
    const stopAll = () => {
        if (stopped) return;
        stopped = true;
        for (const worker of all) worker.send('stop');
    };
    all.forEach((worker, i) => worker.listen('progress', value => {
        progress[i] = value.progress;
        if (progress.reduce((a, b) => a + b, 0) >= count) stopAll();
    }));
    for (const worker of all) worker.send('go');
    const results = await Promise.all(all.map(v => v.next<{ handled: number, first: number, last: number, cpuMs: number }>('handled')));
    await Promise.all(all.map(v => v.exited));
    const busy = results.filter(v => v.handled > 0);
    const handled = results.reduce((sum, v) => sum + v.handled, 0);
    const ms = Math.max(...busy.map(v => v.last)) - Math.min(...busy.map(v => v.first));
    const cpuMs = results.reduce((sum, v) => sum + v.cpuMs, 0);
    return { rate: busy.length ? handled / ms * 1000 : 0, handled, shares: results.map(v => v.handled), cpuPerMessage: handled ? cpuMs * 1000 / handled : 0 };
}

/** The largest and the smallest share of the work, each divided by the average share (1 and 1: perfectly even). */
export function fairness(shares: number[]): { largest: number, smallest: number } {
    const average = shares.reduce((a, b) => a + b, 0) / shares.length;
    return { largest: Math.max(...shares) / average, smallest: Math.min(...shares) / average };
}
