/**
 * Backlog scale: the claim rate of one worker (concurrency 16) over its first
 * BENCH_BACKLOG_CLAIMS messages with BENCH_BACKLOG_SMALL (10,000) pending, and
 * with BENCH_BACKLOG (200,000 by default; the 1,000,000 is opt-in) pending.
 */
import { drainInWorker } from '../lib/drain';
import { interleaved, prefill, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';

const thousands = (n: number) => n >= 1_000_000 ? `${n / 1_000_000}M` : `${n / 1000}k`;

export const backlog: Scenario = async systems => {
    const small = new Metric(`claim rate, ${thousands(settings.backlogSmall)} pending`, 'msg/s', true);
    const large = new Metric(`claim rate, ${thousands(settings.backlog)} pending`, 'msg/s', true);
    const kept = new Metric(`claim rate kept at ${thousands(settings.backlog)} vs ${thousands(settings.backlogSmall)}`, '%', true);
    const rss = new Metric(`worker peak RSS, ${thousands(settings.backlog)} pending`, 'MB', false);
    const claims = Math.min(settings.backlogClaims, settings.backlogSmall);
    await interleaved(systems, async name => {
        const rates: number[] = [];
        for (const pending of [settings.backlogSmall, settings.backlog]) {
            await withSystem(name, async (system, config) => {
                await prefill(system, pending);
                const result = await drainInWorker(name, config, claims, 16);
                rates.push(result.rate);
                if (pending === settings.backlog) rss.add(name, result.peakRssMb);
            });
        }
        small.add(name, rates[0]);
        large.add(name, rates[1]);
        kept.add(name, rates[1] / rates[0] * 100);
    });
    return [small, large, kept, rss];
};

if (require.main === module) runStandalone(backlog);
