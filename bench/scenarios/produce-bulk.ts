/** Bulk produce: each system's bulk call, BENCH_BULK_SIZE (1000) messages per call, awaited in turn. */
import { performance } from 'perf_hooks';
import { batch, interleaved, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

export const produceBulk: Scenario = async systems => {
    const metric = new Metric(`bulk produce, batches of ${settings.bulkSize} (${settings.count})`, 'msg/s', true);
    await interleaved(systems, name => withSystem(name, async system => {
        const batches = Array.from({ length: Math.ceil(settings.count / settings.bulkSize) }, (_, i) => batch(i * settings.bulkSize, Math.min(settings.bulkSize, settings.count - i * settings.bulkSize)));
        const start = performance.now();
        for (const list of batches) await system.produceBulk(list);
        metric.add(name, settings.count / (performance.now() - start) * 1000);
    }));
    return [metric];
};

if (require.main === module) runStandalone(produceBulk);
