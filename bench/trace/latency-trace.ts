/**
 * `npm run bench:latency-trace [-- sqlite|postgres]`: where the cross-process
 * latency of an idle worker goes, phase by phase, with stamps taken in both
 * processes (performance.timeOrigin + now, one clock on one machine):
 * produce() call → produce resolved (the producer's commit), → the worker's
 * wake-up (file notification or NOTIFY), → claim start, → claim end, →
 * callback. Prints percentiles of each phase and the 10 slowest messages with
 * their phases, so a tail can be read off rather than guessed. `commit` ends
 * when the producer's await returns, some JS after the commit itself: a claim
 * can start before it ends (negative toClaim), and "overlapping" counts those.
 * BENCH_LATENCY (500) messages, BENCH_LATENCY_GAP_MS (5) apart.
 */
import { fork } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { monitorEventLoopDelay, performance } from 'perf_hooks';
import { BrokerQueue, PostgresQueueAdapter, QueueStorage, SqliteQueueAdapter } from '../../src';
import { settings } from '../lib/settings';
import { silentLogger } from '../lib/silent-logger';
import { percentile } from '../stats';

interface Message { id: number, sentAt: number }
interface WorkerStamps { loopDelay: { p50: number, p99: number, max: number }, settles: [number, number][], wake: number[], claimStart: number[], claimEnd: number[], callback: Record<number, number>, claimOf: Record<string, number> }

const now = () => performance.timeOrigin + performance.now();

function storageFor(backend: string, location: string): QueueStorage {
    if (backend === 'postgres') return new PostgresQueueAdapter({ connectionString: settings.postgresUrl, schema: location });
    return new SqliteQueueAdapter({ path: location });
}

/** The worker: stamps each wake-up, each claim's start and end, and each callback. */
async function worker(backend: string, location: string): Promise<void> {
    const stamps: WorkerStamps = { loopDelay: { p50: 0, p99: 0, max: 0 }, settles: [], wake: [], claimStart: [], claimEnd: [], callback: {}, claimOf: {} };
    const storage = storageFor(backend, location);
    const claim = storage.claim.bind(storage);
    storage.claim = async (...args) => {
        stamps.claimStart.push(now());
        const claimed = await claim(...args);
        stamps.claimEnd.push(now());
        for (const message of claimed) stamps.claimOf[String(message.id)] = stamps.claimEnd.length - 1;
        return claimed;
    };
    const settle = storage.settle.bind(storage);
    storage.settle = async settlements => {
        const start = now();
        try {
            return await settle(settlements);
        } finally {
            stamps.settles.push([start, now()]);
        }
    };
    const watch = (storage as any).watch?.bind(storage);
    if (watch) (storage as any).watch = (channel: string, listener: () => void) => watch(channel, () => { stamps.wake.push(now()); listener(); });
    const queue = new BrokerQueue(storage, { logger: silentLogger });
    // BENCH_LOOP_DELAY=1: how long the worker's event loop could not run, sampled every 1 ms. Off by default: its
    // timer keeps the idle worker busy, which alone made wake-ups and claims faster (claim p50 0.75 -> 0.53 ms).
    const loop = monitorEventLoopDelay({ resolution: 1 });
    if (process.env.BENCH_LOOP_DELAY) loop.enable();
    let count = 0;
    await queue.channel<Message>('trace').consume((data, message) => {
        stamps.callback[data.id] = now();
        stamps.claimOf[data.id] = stamps.claimOf[String(message.id)];
        if (++count === settings.latencyCount) stamps.loopDelay = { p50: loop.percentile(50) / 1e6, p99: loop.percentile(99) / 1e6, max: loop.max / 1e6 };
        if (count === settings.latencyCount) void queue.close().then(() => process.send!(stamps, () => process.exit(0)));
    }, { maxParallel: 1 });
    process.send!('ready');
}

async function main(backend: string): Promise<void> {
    const dir = mkdtempSync(join(tmpdir(), 'dbq-trace-'));
    const location = backend === 'postgres' ? `trace_${process.pid}` : join(dir, 'queue.sqlite');
    const queue = new BrokerQueue(storageFor(backend, location), { logger: silentLogger });
    const channel = queue.channel<Message>('trace');
    await queue.connect();
    const child = fork(__filename, ['worker', backend, location], { execArgv: process.execArgv });
    const result = new Promise<WorkerStamps>(resolve => child.on('message', value => { if (value !== 'ready') resolve(value as WorkerStamps); }));
    await new Promise<void>(resolve => child.once('message', () => resolve()));
    await new Promise(resolve => setTimeout(resolve, 500));
    const sent: number[] = [], resolved: number[] = [];
    for (let id = 0; id < settings.latencyCount; id++) {
        sent[id] = now();
        await channel.produce({ id, sentAt: sent[id] });
        resolved[id] = now();
        await new Promise(resolve => setTimeout(resolve, settings.latencyGap));
    }
    const stamps = await result;
    await queue.close();
    rmSync(dir, { recursive: true, force: true });
    if (backend === 'postgres') {
        const { Client } = require('pg');
        const client = new Client({ connectionString: settings.postgresUrl });
        await client.connect();
        await client.query(`DROP SCHEMA IF EXISTS "${location}" CASCADE`);
        await client.end();
    }

    // Per message: the first wake-up after its commit, and the claim that took it.
    const rows = sent.map((_, id) => {
        const claim = stamps.claimOf[id];
        const wake = stamps.wake.find(v => v >= resolved[id] - 0.05);
        const claimStart = stamps.claimStart[claim], claimEnd = stamps.claimEnd[claim];
        return {
            id, total: stamps.callback[id] - sent[id],
            commit: resolved[id] - sent[id],
            toWake: wake !== undefined && wake <= claimStart ? wake - resolved[id] : NaN,
            toClaim: claimStart - resolved[id],
            claim: claimEnd - claimStart,
            toCallback: stamps.callback[id] - claimEnd,
        };
    });
    // Writes of both processes that overlapped in time: where SQLite's busy handler (sleeps of 1, 2, 5 ms...) or
    // PostgreSQL's row locks can add to a phase.
    const workerWrites = [...stamps.settles, ...stamps.claimStart.map((v, i) => [v, stamps.claimEnd[i]] as [number, number])];
    const overlaps = (a: number, b: number, spans: [number, number][]) => spans.some(([c, d]) => c < b && a < d);
    const commits = sent.map((v, i) => [v, resolved[i]] as [number, number]);
    const commitBusy = rows.filter(v => overlaps(sent[v.id], resolved[v.id], workerWrites));
    const claimBusy = rows.filter(v => { const c = stamps.claimOf[v.id]; return overlaps(stamps.claimStart[c], stamps.claimEnd[c], commits); });
    const summary = (label: string, values: number[]) => console.log(`  ${label}: ${values.length}, p50 ${percentile(values, 50)?.toFixed(2)}, max ${values.length ? Math.max(...values).toFixed(2) : '-'}`);
    if (process.env.BENCH_LOOP_DELAY) console.log(`worker event loop delay (1 ms resolution): p50 ${stamps.loopDelay.p50.toFixed(2)}, p99 ${stamps.loopDelay.p99.toFixed(2)}, max ${stamps.loopDelay.max.toFixed(2)} ms`);
    console.log(`worker writes: ${stamps.claimStart.length} claims, ${stamps.settles.length} settles for ${rows.length} messages`);
    summary('commits overlapping a worker write', commitBusy.map(v => v.commit));
    summary('commits not overlapping', rows.filter(v => !commitBusy.includes(v)).map(v => v.commit));
    summary('claims overlapping a producer commit', claimBusy.map(v => v.claim));
    summary('claims not overlapping', rows.filter(v => !claimBusy.includes(v)).map(v => v.claim));
    const phases = ['total', 'commit', 'toWake', 'toClaim', 'claim', 'toCallback'] as const;
    console.log(`${backend}: ${rows.length} messages, ${settings.latencyGap} ms apart; phases in ms (toWake/toClaim from produce resolved)`);
    console.log(`${'phase'.padEnd(12)}${['p50', 'p95', 'p99', 'max'].map(v => v.padStart(9)).join('')}`);
    for (const phase of phases) {
        const values = rows.map(v => v[phase]).filter(v => !Number.isNaN(v));
        console.log(`${phase.padEnd(12)}${[50, 95, 99].map(p => percentile(values, p).toFixed(2).padStart(9)).join('')}${Math.max(...values).toFixed(2).padStart(9)}`);
    }
    console.log('slowest:');
    for (const row of [...rows].sort((a, b) => b.total - a.total).slice(0, 10)) {
        console.log('  ' + phases.map(p => `${p} ${row[p].toFixed(2)}`).join(', ') + ` (#${row.id})`);
    }
    child.kill();
}

if (process.argv[2] === 'worker') void worker(process.argv[3], process.argv[4]);
else void main(process.argv[2] ?? 'sqlite').catch(error => { console.error(error); process.exit(1); });
