/** Concurrent producers in one process: BENCH_PRODUCERS (64) loops, each awaiting its own produce. */
import { performance } from 'perf_hooks';
import { message } from '../bench-types';
import { interleaved, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

export const produceConcurrent: Scenario = async systems => {
    const metric = new Metric(`${settings.producers} concurrent producers (${settings.count})`, 'msg/s', true);
    await interleaved(systems, name => withSystem(name, async system => {
        let next = 0;
        const start = performance.now();
        await Promise.all(Array.from({ length: settings.producers }, async () => {
            while (next < settings.count) await system.produce(message(next++));
        }));
        metric.add(name, settings.count / (performance.now() - start) * 1000);
    }));
    return [metric];
};

if (require.main === module) runStandalone(produceConcurrent);
