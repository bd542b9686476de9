/** Sequential awaited produce: one message at a time, each awaited until stored. */
import { performance } from 'perf_hooks';
import { message } from '../bench-types';
import { interleaved, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

export const produceSequential: Scenario = async systems => {
    const metric = new Metric(`sequential awaited produce (${settings.sequential})`, 'msg/s', true);
    await interleaved(systems, name => withSystem(name, async system => {
        const start = performance.now();
        for (let i = 0; i < settings.sequential; i++) await system.produce(message(i));
        metric.add(name, settings.sequential / (performance.now() - start) * 1000);
    }));
    return [metric];
};

if (require.main === module) runStandalone(produceSequential);
