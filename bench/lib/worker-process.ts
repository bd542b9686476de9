import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import { join, resolve } from 'path';
import { emitTsc } from './emit-tsc';
import { WorkerRequest } from './worker-request';

const projectRoot = resolve(__dirname, '../..');
let buildDir: string | undefined;

/**
 * Workers run compiled JavaScript, not ts-node: the TypeScript compiler
 * would add tens of MB to the peak RSS we measure and seconds to each start.
 * Built once per run with the project's (type-compiler patched) tsc, into
 * bench/var/ so that packages resolve for require and import alike: the
 * peers from bench/node_modules, the rest from the project's node_modules.
 */
function workerScript(): string {
    if (!buildDir) {
        const parent = join(projectRoot, 'bench', 'var');
        mkdirSync(parent, { recursive: true });
        const dir = mkdtempSync(join(parent, 'build-'));
        const tsc = join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc');
        emitTsc(tsc, ['-p', join(projectRoot, 'bench', 'tsconfig.worker.json'), '--outDir', dir], join(dir, 'bench', 'worker.js'));
        buildDir = dir;
        process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    }
    return join(buildDir, 'bench', 'worker.js');
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
    for (const child of running) child.kill('SIGKILL');
});

export interface WorkerProcess {
    readonly child: ChildProcess;
    /** The next JSON line that has `key`. */
    next<R = any>(key: string): Promise<R>;
    /** Resolves when the process has exited. */
    exited: Promise<number | null>;
    /** Every JSON line that has `key` goes to `listener` instead of `next()`. */
    listen(key: string, listener: (value: any) => void): void;
    /** One line on the worker's stdin (mode `share`: `go`, `stop`). */
    send(line: string): void;
}

export function spawnWorker(request: WorkerRequest): WorkerProcess {
    // BENCH_WORKER_FLAGS: node flags of the worker only, for diagnosis (e.g. `--trace-gc`), never for figures we report.
    const flags = (process.env.BENCH_WORKER_FLAGS ?? '').split(' ').filter(v => v);
    const stdin = request.mode === 'share' ? 'pipe' : 'ignore';
    const child = spawn(process.execPath, [...flags, workerScript(), JSON.stringify(request)], { stdio: [stdin, 'pipe', 'inherit'] });
    running.add(child);
    const seen: any[] = [];
    const listeners = new Map<string, (value: any) => void>();
    const waiting: { key: string, resolve: (value: any) => void, reject: (error: Error) => void }[] = [];
    let buffer = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n')) >= 0) {
            const line = buffer.slice(0, end);
            buffer = buffer.slice(end + 1);
            // What a diagnostic flag prints (V8's GC trace goes to stdout) is passed on, not parsed.
            if (flags.length && !line.startsWith('{')) {
                process.stderr.write(`[${request.system}] ${line}\n`);
                continue;
            }
            const value = JSON.parse(line);
            const listener = [...listeners].find(([key]) => key in value)?.[1];
            if (listener) {
                listener(value);
                continue;
            }
            const index = waiting.findIndex(v => v.key in value);
            if (index >= 0) waiting.splice(index, 1)[0].resolve(value);
            else seen.push(value);
        }
    });
    const exited = new Promise<number | null>(resolve => child.once('exit', code => {
        running.delete(child);
        for (const waiter of waiting.splice(0)) waiter.reject(new Error(`bench worker ${request.system} (${request.mode}) exited with ${code}`));
        resolve(code);
    }));
    return {
        child,
        exited,
        listen: (key, listener) => listeners.set(key, listener),
        send: line => child.stdin?.write(line + '\n'),
        next(key) {
            const index = seen.findIndex(v => key in v);
            if (index >= 0) return Promise.resolve(seen.splice(index, 1)[0]);
            if (child.exitCode !== null) return Promise.reject(new Error(`bench worker ${request.system} (${request.mode}) exited with ${child.exitCode}`));
            return new Promise((resolve, reject) => waiting.push({ key, resolve, reject }));
        },
    };
}
