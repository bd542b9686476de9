/**
 * SQLite: the application's own ORM transactions while worker processes drain
 * with consume(..., { database }) on the same file. Two workers (maxParallel 2)
 * drain a backlog; meanwhile an application process runs read-then-write
 * transactions back to back for BENCH_DRAIN_SECONDS: as the ORM comes
 * (`plain`), and with the queue adapter built from its database (`attached`).
 * Reports committed and failed application transactions per second.
 * Run: node -r ts-node/register/transpile-only bench/scenarios/orm-contention.ts
 */
import { ChildProcess, spawn } from 'child_process';
import { Database } from '@deepkit/orm';
import { SQLiteDatabaseAdapter } from '@deepkit/sqlite';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join, resolve } from 'path';
import { createInterface } from 'readline';
import { BrokerQueue, queueAdapterFor } from '../../src';
import { BenchRow } from '../lib/orm-app';
import { settings } from '../lib/settings';
import { silentLogger } from '../lib/silent-logger';

const root = resolve(__dirname, '../..');

function child(args: string[]): { process: ChildProcess, next(): Promise<any> } {
    const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', join(root, 'bench/lib/orm-contention-child.ts'), ...args], {
        cwd: root, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') },
    });
    const lines: any[] = [];
    const waiting: ((value: any) => void)[] = [];
    createInterface({ input: proc.stdout! }).on('line', line => {
        const value = JSON.parse(line);
        const waiter = waiting.shift();
        if (waiter) waiter(value);
        else lines.push(value);
    });
    return { process: proc, next: () => lines.length ? Promise.resolve(lines.shift()) : new Promise(resolve => waiting.push(resolve)) };
}

async function run(mode: 'plain' | 'attached'): Promise<{ committed: number, failed: number, errors: Record<string, number>, drained: number }> {
    const dir = mkdtempSync(join(tmpdir(), 'bench-contention-'));
    const path = join(dir, 'app.sqlite');
    const database = new Database(new SQLiteDatabaseAdapter(path), [BenchRow]);
    await database.migrate();
    const queue = new BrokerQueue(queueAdapterFor(database), { logger: silentLogger });
    const backlog = 200_000;
    for (let n = 0; n < backlog; n += 1000) await queue.channel<{ n: number }>('contention').produceMany(Array.from({ length: 1000 }, (_, i) => ({ n: n + i })));
    const workers = [child(['worker', path]), child(['worker', path])];
    try {
        await Promise.all(workers.map(v => v.next()));
        const before = (await queue.stats('contention'))[0].doneLastHour;
        const app = child(['app', path, mode, String(settings.drainSeconds)]);
        const result = await app.next();
        return { ...result, drained: (await queue.stats('contention'))[0].doneLastHour - before };
    } finally {
        for (const worker of workers) worker.process.kill('SIGKILL');
        await queue.close();
        database.disconnect(true);
        rmSync(dir, { recursive: true, force: true });
    }
}

(async () => {
    for (let r = 0; r < settings.repeat; r++) {
        for (const mode of ['plain', 'attached'] as const) {
            const result = await run(mode);
            const per = (n: number) => (n / settings.drainSeconds).toFixed(0);
            console.log(`${mode.padEnd(9)} app: ${per(result.committed)} committed/s, ${per(result.failed)} failed/s ${JSON.stringify(result.errors)}; workers meanwhile: ${per(result.drained)} msg/s`);
        }
    }
    process.exit(0);
})();
