/**
 * CPU of an idle waiting worker: utime + stime over BENCH_IDLE_SECONDS (10)
 * of a worker with an empty queue, after BENCH_IDLE_WARMUP (20) seconds idle. Idle workers barely disturb each other, so
 * in each repetition the systems' workers idle side by side.
 */
import { runStandalone, Scenario, sleep } from '../lib/harness';
import { Metric } from '../lib/metric';
import { cpuSeconds } from '../lib/process-cpu';
import { settings } from '../lib/settings';
import { spawnWorker, WorkerProcess } from '../lib/worker-process';
import { BenchSystem } from '../systems/bench-system';
import { driver } from '../systems/registry';

export const idleCpu: Scenario = async systems => {
    const metric = new Metric(`idle worker CPU over ${settings.idleSeconds} s`, '%', false);
    for (let r = 0; r < settings.repeat; r++) {
        const running: { name: string, system: BenchSystem, worker?: WorkerProcess }[] = [];
        try {
            for (const name of systems) {
                const entry: { name: string, system: BenchSystem, worker?: WorkerProcess } = { name, system: driver(name).createSystem() };
                running.push(entry);
                const config = await entry.system.setup();
                entry.worker = spawnWorker({ system: name, config, mode: 'idle', concurrency: 1, count: 0, seconds: 0 });
                await entry.worker.next('ready');
            }
            // Past start-up work (module loading's JIT and GC, migration checks, first polls):
            // the same warm-up for every system, so what is measured is the steady idle state.
            await sleep(settings.idleWarmupSeconds * 1000);
            const before = running.map(v => cpuSeconds(v.worker!.child.pid!));
            await sleep(settings.idleSeconds * 1000);
            running.forEach((v, i) => metric.add(v.name, (cpuSeconds(v.worker!.child.pid!) - before[i]) / settings.idleSeconds * 100));
        } finally {
            for (const { system, worker } of running) {
                if (worker && worker.child.exitCode === null) {
                    worker.child.kill('SIGTERM');
                    await worker.exited;
                }
                await system.teardown();
            }
        }
    }
    return [metric];
};

if (require.main === module) runStandalone(idleCpu);
