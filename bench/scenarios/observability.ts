/**
 * The cost of metrics and tracing: produce and drain rates of our SQLite
 * adapter (synchronous FULL) with instrumentation off, with metrics only
 * (QueueMetrics, prom-client), and with both: QueueMetrics and QueueTracing with the OpenTelemetry SDK: AsyncLocalStorage
 * context manager, W3C propagator, a batch span processor into an exporter
 * that drops the spans). Each measurement is a fresh child process, so the
 * SDK's process-wide hooks never touch an "off" run; modes are interleaved,
 * BENCH_REPEAT times, medians. `npm run bench:observability`.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BrokerQueue, QueueInstrumentation, QueueMetrics, QueueTracing, SqliteQueueAdapter } from '../../src';
import { silentLogger } from '../lib/silent-logger';
import { settings } from '../lib/settings';

type Mode = 'off' | 'metrics' | 'on';
interface Rates { produceConcurrent: number, drain1: number, drain16: number }

function instrumentation(mode: Mode): QueueInstrumentation[] {
    if (mode === 'off') return [];
    if (mode === 'metrics') return [new QueueMetrics()];
    const api = require('@opentelemetry/api');
    const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
    const { AsyncLocalStorageContextManager } = require('@opentelemetry/context-async-hooks');
    const { W3CTraceContextPropagator } = require('@opentelemetry/core');
    const dropping = { export: (_spans: unknown[], done: (result: { code: number }) => void) => done({ code: 0 }), shutdown: async () => undefined };
    api.trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(dropping)] }));
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    return [new QueueTracing(), new QueueMetrics()];
}

async function measure(mode: Mode): Promise<Rates> {
    const dir = mkdtempSync(join(tmpdir(), 'dbq-bench-obs-'));
    const queue = new BrokerQueue(new SqliteQueueAdapter({ path: join(dir, 'queue.sqlite') }), { logger: silentLogger, instrumentation: instrumentation(mode) });
    try {
        const count = settings.count;
        const produce = queue.channel<{ n: number, text: string }>('produce');
        let next = 0;
        const started = performance.now();
        await Promise.all(Array.from({ length: settings.producers }, async () => {
            while (next < count) await produce.produce({ n: next++, text: 'hello' });
        }));
        const produceConcurrent = count / ((performance.now() - started) / 1000);
        const drain = async (channelName: string, concurrency: number) => {
            const channel = queue.channel<{ n: number, text: string }>(channelName);
            for (let i = 0; i < count; i += settings.bulkSize) await channel.produceMany(Array.from({ length: settings.bulkSize }, (_, j) => ({ n: i + j, text: 'hello' })));
            let seen = 0;
            const start = performance.now();
            await new Promise<void>(async resolve => {
                const release = await channel.consume(() => {
                    if (++seen === count) setImmediate(() => release().then(resolve));
                }, { maxParallel: concurrency });
            });
            return count / ((performance.now() - start) / 1000);
        };
        return { produceConcurrent, drain1: await drain('drain1', 1), drain16: await drain('drain16', 16) };
    } finally {
        await queue.close();
        rmSync(dir, { recursive: true, force: true });
    }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main(): Promise<void> {
    const child = process.argv.indexOf('--child');
    if (child >= 0) {
        process.stdout.write(JSON.stringify(await measure(process.argv[child + 1] as Mode)) + '\n');
        return;
    }
    const results: Record<Mode, Rates[]> = { off: [], metrics: [], on: [] };
    for (let round = 0; round < settings.repeat; round++) {
        for (const mode of (round % 2 ? ['on', 'metrics', 'off'] : ['off', 'metrics', 'on']) as Mode[]) {
            const output = execFileSync(process.execPath, [...process.execArgv, __filename, '--child', mode], { encoding: 'utf8', env: process.env });
            results[mode].push(JSON.parse(output.trim().split('\n').pop()!));
            console.log(`  round ${round + 1}, ${mode}: ${output.trim()}`);
        }
    }
    const rows: [string, keyof Rates][] = [
        [`${settings.producers} concurrent producers (${settings.count})`, 'produceConcurrent'],
        [`drain in-process, concurrency 1 (${settings.count})`, 'drain1'],
        [`drain in-process, concurrency 16 (${settings.count})`, 'drain16'],
    ];
    const rate = (v: number) => `${Math.round(v).toLocaleString('en-US')}/s`;
    console.log('\n| sqlite-full | off | metrics only | metrics + tracing (SDK) | metrics ÷ off | both ÷ off |\n| --- | ---: | ---: | ---: | ---: | ---: |');
    for (const [label, key] of rows) {
        const [off, metrics, on] = (['off', 'metrics', 'on'] as Mode[]).map(mode => median(results[mode].map(v => v[key])));
        console.log(`| ${label} | ${rate(off)} | ${rate(metrics)} | ${rate(on)} | ${(metrics / off).toFixed(2)}x | ${(on / off).toFixed(2)}x |`);
    }
}

main().catch(error => {
    console.error(error);
    process.exit(1);
});
