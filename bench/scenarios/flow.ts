/**
 * Flow control (issue 10): one worker process at concurrency 16 drains a pre-filled queue
 * (BENCH_COUNT messages) of a channel without limits, with `concurrency: 16` (the bound equals
 * maxParallel, so only the cost of the locked claim shows), and with `rateLimit` of
 * BENCH_FLOW_RATE per second (the drain rate must come out at or just under it).
 * Ours only (the peers have no such options); `@base` systems are skipped (no flow control there).
 * The unlimited channel's before/after comparison is `BENCH_BASE=<commit> npm run bench:drain`.
 */
import { drainInWorker } from '../lib/drain';
import { interleaved, prefill, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

const rate = Number(process.env.BENCH_FLOW_RATE || 2000);
const ours = ['sqlite-full', 'sqlite-normal', 'postgres'];

export const flow: Scenario = async systems => {
    const mine = systems.filter(v => ours.includes(v));
    const modes: [string, object | undefined][] = [
        ['no limits', undefined],
        ['concurrency: 16', { concurrency: 16 }],
        [`rateLimit ${rate}/s`, { rateLimit: { max: rate, per: '1s' } }],
    ];
    const metrics: Metric[] = [];
    for (const [label, options] of modes) {
        const metric = new Metric(`flow: drain at concurrency 16, channel with ${label} (${settings.count})`, 'msg/s', true);
        await interleaved(mine, name => withSystem(name, async (system, config) => {
            await prefill(system, settings.count);
            const result = await drainInWorker(name, options ? { ...config, flow: JSON.stringify(options) } : config, settings.count, 16);
            metric.add(name, result.rate);
        }));
        metrics.push(metric);
    }
    return metrics;
};

if (require.main === module) runStandalone(flow);
