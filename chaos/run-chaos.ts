import { randomBytes } from 'crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { join, resolve } from 'path';
import { ChannelStats, QueueLogger } from '../src';
import { dropSchema, postgresUrl } from '../tests/support/postgres';
import { analyse, Analysis } from './analysis';
import { buildChaosScripts } from './build';
import { ChaosBackendConfig, chaosChannelName, createChaosQueue } from './chaos-queue';
import { Fleet } from './fleet';
import { ChaosBackendName, ChaosOptions } from './options';
import { restartPostgres, ServerRestart } from './postgres-restart';
import { ProducerConfig, WorkerConfig } from './process-config';
import { deriveSeed, seededRandom } from './random';
import { readRecords } from './records';
import { StatsSample, StatsSampler } from './stats-sampler';

export interface ChaosResult {
    backend: ChaosBackendName;
    options: ChaosOptions;
    runDir: string;
    /** Build, setup, chaos, drain and analysis. */
    totalMs: number;
    /** Compiling the child scripts (0 when an earlier run built the same sources). */
    buildMs: number;
    chaosMs: number;
    /** From the start of the chaos until every producer slot had resolved all its messages. */
    producersMs?: number;
    /** From the last kill to an empty queue (producers finished, nothing pending, delayed or in flight). */
    drainMs?: number;
    restarts: ServerRestart[];
    finalStats?: ChannelStats;
    failedSample: string[];
    /** Largest pending + delayed + in flight seen by the once-a-second sampler. */
    peakBacklog: number;
    timeline: StatsSample[];
    analysis: Analysis;
    /** Why the run failed; empty when it passed. */
    failures: string[];
}

const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

const quietLogger: QueueLogger = { error: () => undefined, warn: () => undefined, log: () => undefined, debug: () => undefined };

/**
 * Producers and workers on one queue, one of them killed (kill -9) every few
 * hundred ms and started again, PostgreSQL also restarted; then the kills stop,
 * the workers drain the queue, and every message is accounted for (analysis.ts).
 */
export async function runChaos(backend: ChaosBackendName, options: ChaosOptions, say: (line: string) => void = console.log): Promise<ChaosResult> {
    const began = Date.now();
    const scripts = buildChaosScripts();
    const buildMs = Date.now() - began;
    const parent = resolve(options.dir);
    mkdirSync(parent, { recursive: true });
    const runDir = mkdtempSync(join(parent, `run-${backend}-`));
    const config: ChaosBackendConfig = backend === 'sqlite'
        ? { kind: 'sqlite', path: join(runDir, 'queue.sqlite') }
        : { kind: 'postgres', connectionString: postgresUrl, schema: 'chaos_' + randomBytes(5).toString('hex') };
    const channel = { maxAttempts: options.maxAttempts, lease: options.lease };
    const failures: string[] = [];
    const restarts: ServerRestart[] = [];
    // Also creates the database or schema before the processes race for it.
    const observer = createChaosQueue(config, quietLogger);
    let fleet: Fleet | undefined;
    let sampler: StatsSampler | undefined;
    let passed = false;
    try {
        await observer.connect();
        const startedAt = Date.now();
        const quota = (slot: number) => Math.floor(options.messages / options.producers) + (slot < options.messages % options.producers ? 1 : 0);
        const resolvedBefore = (slot: number) => fleet!.incarnations
            .filter(v => v.role === 'producer' && v.slot === slot)
            .reduce((sum, v) => sum + readRecords(v.file).filter(fields => fields[0] === 'R').length, 0);
        fleet = new Fleet(scripts, runDir, options.producers, options.workers, (role, slot, name, file): ProducerConfig | WorkerConfig => role === 'producer'
            ? { backend: config, channel, incarnation: name, ledger: file, first: resolvedBefore(slot), total: quota(slot), startedAt, duration: options.duration, burst: options.burst, concurrency: options.produceConcurrency }
            : { backend: config, channel, incarnation: name, log: file, maxParallel: options.maxParallel, workMax: options.workMax, seed: deriveSeed(options.seed, name) });
        let producersMs: number | undefined;
        void fleet.producersFinished.then(() => producersMs = Date.now() - startedAt);
        fleet.start();
        sampler = new StatsSampler(observer, startedAt);
        sampler.start();
        say(`chaos ${backend}: ${options.messages} messages, ${options.producers} producers, ${options.workers} workers, a kill every ~${options.killInterval} ms for ${options.duration / 1000} s (seed ${options.seed}); run folder ${runDir}`);

        const restarting = backend === 'postgres' ? (async () => {
            for (let k = 1; k <= options.pgRestarts; k++) {
                await pause(startedAt + options.duration * k / (options.pgRestarts + 1) - Date.now());
                const restart = await restartPostgres(options.restartLockHeld && k === 1, options.restartLockTimeout);
                restarts.push(restart);
                say(`chaos ${backend}: server restart ${k} at +${((restart.startedAt - startedAt) / 1000).toFixed(1)} s took ${restart.endedAt - restart.startedAt} ms (waited ${restart.lockWaitMs} ms for the restart lock)`);
            }
        })() : Promise.resolve();
        restarting.catch(() => undefined);

        const random = seededRandom(options.seed);
        const chaosEnd = startedAt + options.duration;
        let kills = 0;
        for (;;) {
            // The schedule of the run, not a synchronisation: kills come at random times.
            await pause(options.killInterval * (0.5 + random()));
            if (Date.now() >= chaosEnd) break;
            const killable = fleet.killable();
            if (killable.length && fleet.kill(killable[Math.floor(random() * killable.length)])) kills++;
        }
        const chaosMs = Date.now() - startedAt;
        say(`chaos ${backend}: ${kills} kills in ${(chaosMs / 1000).toFixed(1)} s; draining`);
        await restarting.catch(error => failures.push(`server restart failed: ${error}`));

        const drainStarted = Date.now();
        const deadline = drainStarted + options.drainTimeout;
        let drainMs: number | undefined;
        let finalStats: ChannelStats | undefined;
        const timeLeft = () => new Promise<false>(resolve => setTimeout(() => resolve(false), Math.max(0, deadline - Date.now())).unref());
        const producersFinished = await Promise.race([fleet.producersFinished.then(() => true), timeLeft()]);
        if (!producersFinished) failures.push(`producers did not finish within the drain timeout (${options.drainTimeout} ms)`);
        // Polled: no event says that another process's queue is empty. A failed restart does not skip the drain.
        while (producersFinished) {
            finalStats = (await observer.stats(chaosChannelName).catch(() => []))[0];
            if (finalStats && !finalStats.pending && !finalStats.delayed && !finalStats.inFlight) {
                drainMs = Date.now() - drainStarted;
                break;
            }
            if (Date.now() > deadline) {
                failures.push(`not drained within ${options.drainTimeout} ms: ${JSON.stringify(finalStats)}`);
                break;
            }
            await pause(100);
        }
        sampler.stop();
        if (!await fleet.stopWorkers(30_000)) failures.push('workers did not stop within 30 s of SIGTERM');
        await fleet.killAll();
        finalStats = (await observer.stats(chaosChannelName))[0];
        const failedSample = (await observer.listFailed(chaosChannelName, { limit: 5, offset: 0 })).map(v => `${v.id} attempt ${v.attempt}: ${v.error.split('\n')[0]}`);
        say(`chaos ${backend}: ${drainMs === undefined ? 'not drained' : `drained in ${(drainMs / 1000).toFixed(1)} s`}; analysing`);

        const analysis = analyse(fleet.incarnations, restarts, options.settleWindow);
        if (analysis.lost.length) failures.push(`${analysis.lost.length} lost`);
        if (analysis.duplicates.unexplained.length) failures.push(`${analysis.duplicates.unexplained.length} unexplained duplicates`);
        if (analysis.redelivered.unexplained.length) failures.push(`${analysis.redelivered.unexplained.length} unexplained redeliveries`);
        if (analysis.deliveredUnknown.unexplained.length) failures.push(`${analysis.deliveredUnknown.unexplained.length} unexplained deliveries of messages not in a ledger`);
        if (analysis.storedTwice.length) failures.push(`${analysis.storedTwice.length} messages stored twice`);
        if (finalStats?.failed) failures.push(`${finalStats.failed} failed messages`);
        if (analysis.unexpectedExits.length) failures.push(`${analysis.unexpectedExits.length} processes exited unexpectedly`);
        if (!analysis.kills.total) failures.push('no process was killed');
        if (restarts.length < (backend === 'postgres' ? options.pgRestarts : 0)) failures.push(`${restarts.length} of ${options.pgRestarts} server restarts happened`);

        const result: ChaosResult = {
            backend, options, runDir, totalMs: Date.now() - began, buildMs, chaosMs, producersMs, drainMs, restarts, finalStats, failedSample,
            peakBacklog: sampler.peakBacklog(), timeline: sampler.samples, analysis, failures,
        };
        const unexpectedStderr = analysis.unexpectedExits.map(v => `${v.name}: ${fleet!.stderrOf(fleet!.incarnations.find(i => i.name === v.name)!)}`);
        writeFileSync(join(runDir, 'report.json'), JSON.stringify({ ...result, unexpectedStderr, incarnations: fleet.incarnations.map(({ exited, ...v }) => v) }, null, 2));
        passed = !failures.length;
        return result;
    } finally {
        sampler?.stop();
        await fleet?.killAll();
        await observer.close().catch(() => undefined);
        if (config.kind === 'postgres') await dropSchema(config.schema).catch(() => undefined);
        if (passed && !options.keep) rmSync(runDir, { recursive: true, force: true });
    }
}
