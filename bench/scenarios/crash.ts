/**
 * What a `kill -9` of a worker redelivers: BENCH_COUNT (20,000) messages
 * pre-filled; worker A at concurrency 8 is killed with SIGKILL once it has
 * started a quarter of them; worker B then runs until every message was
 * delivered or BENCH_CRASH_WAIT_SECONDS (45) after the kill. Each handler
 * writes its message's id to a file as it starts (one write each, so the
 * killed worker's record is complete) and then takes
 * BENCH_CRASH_HANDLER_MS (2). Reports the messages delivered twice (at least
 * the handlers that were running, up to 8), the messages not delivered
 * within the wait (a system that keeps a dead worker's jobs locked for
 * longer), and the time from the kill until every message was delivered.
 * Each system runs with its defaults (see the system settings).
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { interleaved, prefill, runStandalone, Scenario, sleep, withSystem } from '../lib/harness';
import { Metric } from '../lib/metric';
import { settings } from '../lib/settings';
import { spawnWorker, WorkerProcess } from '../lib/worker-process';

const concurrency = 8;

function handledIds(file: string): number[] {
    try {
        return readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
    } catch {
        return [];
    }
}

function lines(file: string): number {
    try {
        // Ids are short: the size is a cheap lower bound to poll on (each line at least 2 bytes).
        return statSync(file).size;
    } catch {
        return 0;
    }
}

async function killed(worker: WorkerProcess): Promise<void> {
    worker.child.kill('SIGKILL');
    await worker.exited;
}

export const crash: Scenario = async systems => {
    const count = settings.count, wait = settings.crashWaitSeconds;
    const duplicates = new Metric(`delivered twice after a kill -9 at concurrency ${concurrency} (${count}, ${settings.crashHandlerMs} ms handlers)`, 'messages', false);
    const missing = new Metric(`not delivered again within ${wait} s of the kill`, 'messages', false);
    const recovery = new Metric('from the kill until every message was delivered', 's', false);
    await interleaved(systems, name => withSystem(name, async (system, config) => {
        await prefill(system, count);
        const dir = mkdtempSync(join(tmpdir(), 'dbq-bench-crash-'));
        try {
            const first = join(dir, 'a'), second = join(dir, 'b');
            const a = spawnWorker({ system: name, config, mode: 'record', concurrency, count, seconds: 0, file: first, handlerMs: settings.crashHandlerMs });
            await a.next('ready');
            // A quarter started: ids up to 20,000 take at most 6 bytes a line.
            while (lines(first) < count / 4 * 6 && a.child.exitCode === null) await sleep(5);
            await killed(a);
            const killedAt = Date.now();
            const b = spawnWorker({ system: name, config, mode: 'record', concurrency, count, seconds: 0, file: second, handlerMs: settings.crashHandlerMs });
            await b.next('ready');
            let unique = 0;
            while (Date.now() - killedAt < wait * 1000) {
                unique = new Set([...handledIds(first), ...handledIds(second)]).size;
                if (unique === count) break;
                await sleep(100);
            }
            const doneAt = Date.now();
            await killed(b);
            const handled = [...handledIds(first), ...handledIds(second)];
            if (process.env.BENCH_DEBUG) console.log(`  (${name}: killed after ${handledIds(first).length}, then ${handledIds(second).length})`);
            unique = new Set(handled).size;
            duplicates.add(name, handled.length - unique);
            missing.add(name, count - unique);
            if (unique === count) recovery.add(name, (doneAt - killedAt) / 1000);
            else console.log(`  (${name}: ${count - unique} of ${count} not delivered ${wait} s after the kill)`);
        } finally {
            rmSync(dir, { recursive: true, force: true });
        }
    }));
    return [duplicates, missing, recovery];
};

if (require.main === module) runStandalone(crash);
