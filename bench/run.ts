/**
 * `npm run bench`: every scenario for every system (BENCH_SYSTEMS to choose),
 * BENCH_REPEAT (3) repetitions with the systems interleaved, medians and
 * ours-vs-peer ratios; ends with the markdown tables for bench/RESULTS.md.
 * Knobs: bench/lib/settings.ts.
 */
import { cpus, totalmem } from 'os';
import { markdownTables } from './lib/report';
import { runScenarios, Scenario } from './lib/harness';
import { settings } from './lib/settings';
import { backlog } from './scenarios/backlog';
import { crash } from './scenarios/crash';
import { drain } from './scenarios/drain';
import { drainBacklogOf } from './scenarios/drain-backlog';
import { flow } from './scenarios/flow';
import { idleCpu } from './scenarios/idle-cpu';
import { latency } from './scenarios/latency';
import { orm } from './scenarios/orm';
import { produceBulk } from './scenarios/produce-bulk';
import { produceConcurrent } from './scenarios/produce-concurrent';
import { produceSequential } from './scenarios/produce-sequential';
import { manyWorkers } from './scenarios/workers';
import { driver } from './systems/registry';

const scenarios: Scenario[] = [produceSequential, produceConcurrent, produceBulk, drain, drainBacklogOf(settings.rssDrain, 60), manyWorkers, flow, latency, idleCpu, backlog, crash, orm];

function version(name: string): string {
    try {
        return require(`${name}/package.json`).version;
    } catch {
        return '?';
    }
}

const started = Date.now();
console.log(`deepkit-broker-queue side-by-side bench, ${new Date().toISOString()}`);
console.log(`machine: ${cpus().length} cores (${cpus()[0].model}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
console.log(`versions: ${['better-sqlite3', 'pg', 'bullmq', 'ioredis', 'pg-boss', 'graphile-worker'].map(v => `${v} ${version(v)}`).join(', ')}`);
console.log(`settings: ${JSON.stringify(settings)}`);

runScenarios(scenarios)
    .then(({ metrics, systems }) => {
        console.log('\nsystem settings:');
        for (const name of systems) console.log(`- ${name}: ${driver(name).settings}`);
        console.log(`\n${markdownTables(metrics, systems)}\n\ntotal ${((Date.now() - started) / 60_000).toFixed(1)} min`);
        process.exit(0);
    })
    .catch(error => {
        console.error(error);
        process.exit(1);
    });
