/**
 * Drain of a pre-filled queue (BENCH_COUNT messages) by one worker process at
 * concurrency 1 and 16; the worker's peak RSS (VmHWM) at the end of the drain.
 */
import { drainInWorker } from '../lib/drain';
import { interleaved, prefill, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

export const drain: Scenario = async systems => {
    const metrics: Metric[] = [];
    for (const concurrency of [1, 16]) {
        const rate = new Metric(`drain by one worker, concurrency ${concurrency} (${settings.count})`, 'msg/s', true);
        const rss = new Metric(`worker peak RSS, drain at concurrency ${concurrency}`, 'MB', false);
        await interleaved(systems, name => withSystem(name, async (system, config) => {
            await prefill(system, settings.count);
            const result = await drainInWorker(name, config, settings.count, concurrency);
            if (result.handled < settings.count) console.log(`  (${name}: ${result.handled} of ${settings.count} in the ${settings.drainSeconds} s limit)`);
            rate.add(name, result.rate);
            rss.add(name, result.peakRssMb);
        }));
        metrics.push(rate, rss);
    }
    return metrics;
};

if (require.main === module) runStandalone(drain);
