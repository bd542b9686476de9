/**
 * Many workers on one queue (issue 12 item 5): a pre-filled queue (BENCH_COUNT messages) drained by one worker
 * process, then by BENCH_WORKERS (4) worker processes at once, each at concurrency 8; with instant callbacks and
 * with callbacks that take 1 to 2 ms. Reports both rates, four ÷ one (from the same repetition), and how evenly
 * the four shared the work: the largest share ÷ the average share, and the smallest; and the CPU time all
 * workers used per message (on a machine with fewer free cores than workers, that is what bounds the four).
 */
import { interleaved, prefill, runStandalone, Scenario, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';
import { drainShared, fairness } from '../lib/shared-drain';

const workers = Number(process.env.BENCH_WORKERS || 4);
const concurrency = 8;

export const manyWorkers: Scenario = async systems => {
    const metrics: Metric[] = [];
    for (const slow of [false, true]) {
        const kind = slow ? '1-2 ms callbacks' : 'instant callbacks';
        const one = new Metric(`workers: drain by 1 worker, ${kind}, concurrency ${concurrency} (${settings.count})`, 'msg/s', true);
        const many = new Metric(`workers: drain by ${workers} workers at once, ${kind}`, 'msg/s', true);
        const ratio = new Metric(`workers: ${workers} workers ÷ 1 worker, ${kind}`, 'x', true);
        const largest = new Metric(`workers: largest share ÷ average share of ${workers}, ${kind}`, 'x', false);
        const smallest = new Metric(`workers: smallest share ÷ average share of ${workers}, ${kind}`, 'x', true);
        const cpuOne = new Metric(`workers: CPU per message, 1 worker, ${kind}`, 'µs', false);
        const cpuMany = new Metric(`workers: CPU per message, ${workers} workers together, ${kind}`, 'µs', false);
        await interleaved(systems, name => withSystem(name, async (system, config) => {
            await prefill(system, settings.count);
            const single = await drainShared(name, config, 1, settings.count, concurrency, slow);
            await prefill(system, settings.count);
            const shared = await drainShared(name, config, workers, settings.count, concurrency, slow);
            for (const result of [single, shared]) {
                if (result.handled < settings.count) console.log(`  (${name}: ${result.handled} of ${settings.count} in the ${settings.drainSeconds} s limit)`);
            }
            const even = fairness(shared.shares);
            console.log(`  ${name}, ${kind}: 1 worker ${Math.round(single.rate)}/s, ${workers} workers ${Math.round(shared.rate)}/s, shares ${shared.shares.join(' / ')}`);
            one.add(name, single.rate);
            many.add(name, shared.rate);
            ratio.add(name, shared.rate / single.rate);
            largest.add(name, even.largest);
            smallest.add(name, even.smallest);
            cpuOne.add(name, single.cpuPerMessage);
            cpuMany.add(name, shared.cpuPerMessage);
        }));
        metrics.push(one, many, ratio, largest, smallest, cpuOne, cpuMany);
    }
    return metrics;
};

if (require.main === module) runStandalone(manyWorkers);
