/**
 * One worker process of any system: `node worker.js '<json WorkerRequest>'`.
 * It prints one JSON line per event on stdout:
 * - every mode: `{"ready":true}` once its consumer runs;
 * - `drain`: handles up to `count` messages (or stops `seconds` after the
 *   first), then `{"handled":n,"ms":t,"peakRssKb":k}`: t from the first
 *   handler call to the consumer's graceful stop, acknowledgements included;
 * - `latency`: after `count` messages (or `seconds` after ready)
 *   `{"latencies":[ms, ...]}`, each from the send stamp in the payload to the
 *   handler call;
 * - `idle`: nothing more; it stops on SIGTERM.
 * - `share` (one of several workers on one queue): `{"ready":true}` before its
 *   consumer starts, which waits for the line `go` on stdin, so that all start
 *   together; `{"progress":n}` every 200 messages and every 50 ms; on the line `stop` (or
 *   `seconds` after `go`) `{"handled":n,"first":t0,"last":t1,"cpuMs":c}`, t0 and t1 the
 *   wall-clock times (ms) of its first and last handler call, c the CPU time it used from `go` to its stop.
 * - `record`: appends the id of every delivered message to `file` when its
 *   handler starts, one write per message (in the file even if the process
 *   is killed the next moment); each handler then takes `handlerMs`; runs
 *   until it is killed.
 */
import { openSync, readFileSync, writeFileSync, writeSync } from 'fs';
import { performance } from 'perf_hooks';
import { getHeapSpaceStatistics } from 'v8';
import { Session } from 'inspector';
import { BenchMessage } from './bench-types';
import { BenchConsumer } from './systems/bench-system';
import { driver } from './systems/registry';
import { WorkerRequest } from './lib/worker-request';

const request: WorkerRequest = JSON.parse(process.argv[2]);

function send(value: object): Promise<void> {
    return new Promise(resolve => process.stdout.write(JSON.stringify(value) + '\n', () => resolve()));
}

function peakRssKb(): number {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return match ? Number(match[1]) : 0;
}

/**
 * `BENCH_HEAP_TRACE=1`: the largest figure of each part of the process's memory, sampled every 50 ms,
 * printed on stderr at the end: what a peak RSS is made of.
 */
const heapTrace = process.env.BENCH_HEAP_TRACE ? startHeapTrace() : undefined;

function startHeapTrace(): () => Promise<void> {
    const profile = process.env.BENCH_HEAP_PROFILE ? startHeapProfile(process.env.BENCH_HEAP_PROFILE) : undefined;
    const peak: Record<string, number> = {};
    const keep = (key: string, bytes: number) => peak[key] = Math.max(peak[key] ?? 0, bytes);
    const sample = () => {
        for (const [key, bytes] of Object.entries(process.memoryUsage())) keep(key, bytes);
        for (const space of getHeapSpaceStatistics()) {
            keep(`${space.space_name} size`, space.space_size);
            keep(`${space.space_name} used`, space.space_used_size);
        }
    };
    const timer = setInterval(sample, 50);
    timer.unref();
    return async () => {
        sample();
        clearInterval(timer);
        await profile?.();
        const mb = Object.entries(peak).map(([key, bytes]) => `${key} ${(bytes / 1024 / 1024).toFixed(1)}`);
        console.error(`heap trace (${request.system}), peak MB: ${mb.join(', ')}`);
    };
}

/**
 * `BENCH_HEAP_PROFILE=<file>`: a sampling heap profile of what survived young-generation collections
 * (what was promoted, live or not), for Chrome DevTools.
 */
function startHeapProfile(file: string): () => Promise<void> {
    const session = new Session();
    session.connect();
    const post = (method: string, params?: object) => new Promise<any>((resolve, reject) => session.post(method, params, (error, result) => error ? reject(error) : resolve(result)));
    void post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true });
    return async () => {
        const { profile } = await post('HeapProfiler.stopSampling');
        writeFileSync(file, JSON.stringify(profile));
    };
}

async function finish(consumer: BenchConsumer, result?: () => object): Promise<never> {
    await consumer.stop();
    await heapTrace?.();
    if (result) await send(result());
    // Some clients keep timers or sockets open after stopping: the result is out, so leave.
    process.exit(0);
}

/** A callback that takes time: 1 or 2 ms, so that a worker's throughput is bound by maxParallel, not by CPU. */
const slowly = (message: BenchMessage) => new Promise<void>(resolve => setTimeout(resolve, 1 + message.id % 2));

const wallClock = () => performance.timeOrigin + performance.now();

function lines(listener: (line: string) => void): void {
    let buffer = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n')) >= 0) {
            listener(buffer.slice(0, end));
            buffer = buffer.slice(end + 1);
        }
    });
}

async function share(): Promise<void> {
    let handled = 0, first = 0, last = 0, reported = 0;
    const report = () => {
        if (handled === reported) return;
        reported = handled;
        process.stdout.write(`{"progress":${handled}}\n`);
    };
    // The count since the last report of every 200 would otherwise never arrive: the sum could stay short of the total.
    setInterval(report, 50).unref();
    const handler = (message: BenchMessage) => {
        last = wallClock();
        if (!first) first = last;
        if (++handled % 200 === 0) report();
        if (request.slow) return slowly(message);
    };
    // Loading the code after `go` would take the CPU from the workers that already drain.
    const system = driver(request.system);
    system.preload?.(request.config);
    let consumer: Promise<BenchConsumer> | undefined;
    let cpu: NodeJS.CpuUsage | undefined;
    const stop = async () => {
        if (!consumer) return;
        const running = consumer;
        consumer = undefined;
        await finish(await running, () => {
            const used = process.cpuUsage(cpu);
            return { handled, first, last, cpuMs: (used.user + used.system) / 1000 };
        });
    };
    lines(line => {
        if (line === 'go' && !consumer) {
            cpu = process.cpuUsage();
            consumer = system.startConsumer(request.config, handler, request.concurrency);
            setTimeout(() => void stop(), request.seconds * 1000).unref();
        }
        if (line === 'stop') void stop();
    });
    await send({ ready: true });
}

async function main(): Promise<void> {
    if (request.mode === 'share') return share();
    let handled = 0;
    let started = 0;
    let done: () => void = () => undefined;
    const finished = new Promise<void>(resolve => done = resolve);
    const latencies: number[] = [];
    const record = request.mode === 'record' ? openSync(request.file!, 'a') : undefined;
    const handler = record !== undefined
        ? async (message: BenchMessage) => {
            writeSync(record, `${message.id}\n`);
            await new Promise(resolve => setTimeout(resolve, request.handlerMs ?? 0));
        }
        : request.mode === 'latency'
        ? (message: BenchMessage) => {
            latencies.push(performance.timeOrigin + performance.now() - message.sentAt);
            if (latencies.length === request.count) done();
        }
        : (_message: BenchMessage) => {
            if (!started) {
                started = performance.now();
                setTimeout(done, request.seconds * 1000).unref();
            }
            if (++handled === request.count) done();
        };
    const consumer = await driver(request.system).startConsumer(request.config, handler, request.concurrency);
    await send({ ready: true });
    // A system that loses or stalls messages must not hang the run: report what arrived.
    if (request.mode === 'latency') setTimeout(done, request.seconds * 1000).unref();
    if (request.mode === 'idle' || request.mode === 'record') {
        process.once('SIGTERM', () => void finish(consumer));
        return;
    }
    await finished;
    if (request.mode === 'latency') return finish(consumer, () => ({ latencies }));
    // Read after the stop: handlers that finish during it count, as the stop's time does.
    await finish(consumer, () => ({ handled, ms: performance.now() - started, peakRssKb: peakRssKb() }));
}

main().catch(error => {
    console.error(`bench worker (${request.system}, ${request.mode}) failed:`, error);
    process.exit(1);
});
