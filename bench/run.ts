/**
 * `npm run bench`: our SQLite adapter at synchronous full and normal, each
 * scenario repeated (BENCH_REPEAT, default 3) with the systems interleaved,
 * medians printed. BENCH_COUNT (default 20000) sets the message count.
 */
import { spawn } from 'child_process';
import { mkdtempSync, rmSync } from 'fs';
import { cpus, tmpdir } from 'os';
import { join } from 'path';
import { performance } from 'perf_hooks';
import { BrokerQueue, SqliteQueueAdapter } from '../src';
import { BenchMessage, message } from './bench-types';
import { median, percentile } from './stats';

const count = Number(process.env.BENCH_COUNT ?? 20_000);
const repeat = Number(process.env.BENCH_REPEAT ?? 3);
const sequentialCount = Number(process.env.BENCH_SEQUENTIAL ?? 2_000);
const latencyCount = Number(process.env.BENCH_LATENCY ?? 500);
const modes = ['full', 'normal'] as const;
type Mode = typeof modes[number];

const silent = { error: console.error, warn: () => undefined, log: () => undefined, debug: () => undefined };

function freshPath(): { path: string, remove: () => void } {
    const dir = mkdtempSync(join(tmpdir(), 'dbq-bench-'));
    return { path: join(dir, 'queue.sqlite'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

async function withQueue<R>(mode: Mode, run: (queue: BrokerQueue, path: string) => Promise<R>): Promise<R> {
    const { path, remove } = freshPath();
    const queue = new BrokerQueue(new SqliteQueueAdapter({ path, synchronous: mode }), { logger: silent });
    await queue.connect();
    try {
        return await run(queue, path);
    } finally {
        await queue.close();
        remove();
    }
}

function spawnWorker(args: string[]) {
    const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'bench-worker.ts'), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    const lines: string[] = [];
    let buffer = '';
    const listeners: ((line: string) => void)[] = [];
    child.stdout.on('data', chunk => {
        buffer += chunk;
        let i: number;
        while ((i = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, i);
            buffer = buffer.slice(i + 1);
            lines.push(line);
            for (const listener of listeners) listener(line);
        }
    });
    const waitFor = (predicate: (line: string) => boolean) => new Promise<string>((resolve, reject) => {
        const seen = lines.find(predicate);
        if (seen) return resolve(seen);
        listeners.push(line => predicate(line) && resolve(line));
        child.on('exit', code => reject(new Error(`bench worker exited with ${code}`)));
    });
    return { child, lines, waitFor };
}

const scenarios: { name: string, unit: string, run: (mode: Mode, repetition: number) => Promise<number> }[] = [
    {
        name: `sequential awaited produce (${sequentialCount})`, unit: 'msg/s',
        run: mode => withQueue(mode, async queue => {
            const channel = queue.channel<BenchMessage>('bench');
            const start = performance.now();
            for (let i = 0; i < sequentialCount; i++) await channel.produce(message(i));
            return sequentialCount / (performance.now() - start) * 1000;
        }),
    },
    {
        name: `64 concurrent producers (${count})`, unit: 'msg/s',
        run: mode => withQueue(mode, async queue => {
            const channel = queue.channel<BenchMessage>('bench');
            let next = 0;
            const start = performance.now();
            await Promise.all(Array.from({ length: 64 }, async () => {
                while (next < count) await channel.produce(message(next++));
            }));
            return count / (performance.now() - start) * 1000;
        }),
    },
    {
        name: `produceMany, batches of 1000 (${count})`, unit: 'msg/s',
        run: mode => withQueue(mode, async queue => {
            const channel = queue.channel<BenchMessage>('bench');
            const batch = Array.from({ length: 1000 }, (_, i) => message(i));
            const start = performance.now();
            for (let i = 0; i < count; i += 1000) await channel.produceMany(batch);
            return count / (performance.now() - start) * 1000;
        }),
    },
    ...[1, 16].map(maxParallel => ({
        name: `drain by one worker process, maxParallel ${maxParallel} (${count})`, unit: 'msg/s',
        run: (mode: Mode) => withQueue(mode, async (queue, path) => {
            const channel = queue.channel<BenchMessage>('bench');
            const batch = Array.from({ length: 1000 }, (_, i) => message(i));
            for (let i = 0; i < count; i += 1000) await channel.produceMany(batch);
            const worker = spawnWorker([path, mode, 'drain', String(count), String(maxParallel)]);
            const line = await worker.waitFor(v => v.startsWith('drained '));
            return count / Number(line.split(' ')[1]) * 1000;
        }),
    })),
    ...(['p50', 'p99'] as const).map(which => ({
        name: `idle worker latency ${which}, other process (${latencyCount}, 5 ms apart)`, unit: 'ms',
        run: (mode: Mode, repetition: number) => latency(mode, repetition).then(v => v[which]),
    })),
];

const latencyCache = new Map<string, Promise<{ p50: number, p99: number }>>();

/** One latency run per mode and repetition serves both its p50 and p99 rows. */
function latency(mode: Mode, repetition: number): Promise<{ p50: number, p99: number }> {
    const key = `${mode}:${repetition}`;
    if (!latencyCache.has(key)) {
        latencyCache.set(key, withQueue(mode, async (queue, path) => {
            const channel = queue.channel<BenchMessage>('bench');
            const worker = spawnWorker([path, mode, 'latency', String(latencyCount), '1']);
            await worker.waitFor(v => v === 'ready');
            for (let i = 0; i < latencyCount; i++) {
                await channel.produce({ id: i, username: 'user' + i, sentAt: performance.timeOrigin + performance.now() });
                await new Promise(resolve => setTimeout(resolve, 5));
            }
            await new Promise(resolve => worker.child.on('exit', resolve));
            const values = worker.lines.filter(v => v.startsWith('latency ')).map(v => Number(v.split(' ')[1]));
            return { p50: percentile(values, 50), p99: percentile(values, 99) };
        }));
    }
    return latencyCache.get(key)!;
}

void (async () => {
    console.log(`deepkit-broker-queue bench: ${cpus().length} cores (${cpus()[0].model}), Node ${process.version}, ${count} messages, ${repeat} repetitions, medians`);
    const rows: string[][] = [];
    for (const scenario of scenarios) {
        const results: Record<Mode, number[]> = { full: [], normal: [] };
        for (let r = 0; r < repeat; r++) {
            // Interleave the systems within each repetition, so machine noise hits both alike.
            for (const mode of modes) results[mode].push(await scenario.run(mode, r));
        }
        const full = median(results.full), normal = median(results.normal);
        const row = [scenario.name, format(full, scenario.unit), format(normal, scenario.unit), (scenario.unit === 'ms' ? full / normal : normal / full).toFixed(2) + 'x'];
        rows.push(row);
        console.log(row.join(' | '));
    }
    console.log('\n| scenario | SQLite full | SQLite normal | normal vs full |\n| --- | ---: | ---: | ---: |');
    for (const row of rows) console.log(`| ${row.join(' | ')} |`);
})();

function format(value: number, unit: string): string {
    return unit === 'ms' ? `${value.toFixed(2)} ms` : `${Math.round(value).toLocaleString('en-US')} ${unit}`;
}
