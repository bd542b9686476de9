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
 * - `record`: appends the id of every delivered message to `file` when its
 *   handler starts, one write per message (in the file even if the process
 *   is killed the next moment); each handler then takes `handlerMs`; runs
 *   until it is killed.
 */
import { openSync, readFileSync, writeSync } from 'fs';
import { performance } from 'perf_hooks';
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

async function finish(consumer: BenchConsumer, result?: () => object): Promise<never> {
    await consumer.stop();
    if (result) await send(result());
    // Some clients keep timers or sockets open after stopping: the result is out, so leave.
    process.exit(0);
}

async function main(): Promise<void> {
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
