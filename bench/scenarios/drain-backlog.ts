/**
 * Full drain of a large backlog: BENCH_DRAIN_BACKLOG (1,000,000) messages
 * pre-filled, then one worker process at concurrency 16 handles every one of
 * them (capped at BENCH_DRAIN_BACKLOG_SECONDS, 300). Reports the drain rate
 * and the worker's peak RSS, the "RSS while draining 1M" target. `npm run
 * bench` runs it with BENCH_RSS_DRAIN (100,000) messages and a 60 s cap:
 * a million takes minutes to pre-fill for the slower peers.
 */
import { drainInWorker } from '../lib/drain';
import { interleaved, prefill, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

export const drainBacklogOf = (count: number, seconds: number): Scenario => async systems => {
    const label = count >= 1_000_000 ? `${count / 1_000_000}M` : `${count / 1000}k`;
    const rate = new Metric(`full drain of ${label} pending, concurrency 16`, 'msg/s', true);
    const rss = new Metric(`worker peak RSS, full drain of ${label}`, 'MB', false);
    await interleaved(systems, name => withSystem(name, async (system, config) => {
        await prefill(system, count);
        const result = await drainInWorker(name, config, count, 16, seconds);
        // A drain cut short by the time cap did not see the whole backlog: say so next to its figures.
        if (result.handled < count) console.log(`  (${name}: ${result.handled} of ${count} in the ${seconds} s limit)`);
        rate.add(name, result.rate);
        rss.add(name, result.peakRssMb);
    }));
    return [rate, rss];
};

if (require.main === module) runStandalone(drainBacklogOf(settings.drainBacklog, settings.drainBacklogSeconds));
