/**
 * Latency of an idle worker in another process: BENCH_LATENCY (500) messages,
 * BENCH_LATENCY_GAP_MS (5) apart, from just before produce() (so including the
 * producer's commit) to the worker's handler call.
 */
import { performance } from 'perf_hooks';
import { interleaved, runStandalone, Scenario, sleep, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';
import { spawnWorker } from '../lib/worker-process';
import { percentile } from '../stats';

export const latency: Scenario = async systems => {
    const label = `(${settings.latencyCount}, ${settings.latencyGap} ms apart)`;
    const metrics = ([50, 95, 99] as const).map(p => ({ p, metric: new Metric(`cross-process latency p${p} ${label}`, 'ms', false) }));
    await interleaved(systems, name => withSystem(name, async (system, config) => {
        const worker = spawnWorker({ system: name, config, mode: 'latency', concurrency: 1, count: settings.latencyCount, seconds: 30 + settings.latencyCount * settings.latencyGap * 3 / 1000 });
        await worker.next('ready');
        // Let the worker settle into its idle wait (blocking pop, LISTEN, poll timer).
        await sleep(500);
        for (let i = 0; i < settings.latencyCount; i++) {
            await system.produce({ id: i, username: 'user' + i, sentAt: performance.timeOrigin + performance.now() });
            await sleep(settings.latencyGap);
        }
        const { latencies } = await worker.next<{ latencies: number[] }>('latencies');
        await worker.exited;
        if (latencies.length < settings.latencyCount) console.log(`  (${name}: only ${latencies.length} of ${settings.latencyCount} arrived in time)`);
        for (const { p, metric } of metrics) metric.add(name, percentile(latencies, p));
    }));
    return metrics.map(v => v.metric);
};

if (require.main === module) runStandalone(latency);
