import { ChildProcess, spawn } from 'child_process';
import { isAbsolute, join, relative } from 'path';
import { projectRoot, sourcesIn, transpiledBuild } from '../../tools/transpiled-build';

const root = projectRoot;
/** Scripts run compiled; `examples/demo.ts` (what `npm start` runs, and it starts the others through ts-node) is not. */
const compiled = [join(root, 'tests', 'fixtures'), join(root, 'examples')];
const throughTsNode = [join(root, 'examples', 'demo.ts')];
let build: string | undefined;

function inside(folder: string, path: string): boolean {
    const rest = relative(folder, path);
    return !rest.startsWith('..') && !isAbsolute(rest);
}

/**
 * The command line of a script. Fixtures (tests/fixtures/) and the example apps (examples/) run compiled, from
 * one build of the library, the examples and the tests' support files per change of the sources: ts-node cost
 * every start several seconds of CPU, and the suite starts about a hundred. The example apps' code is the same;
 * that they run through ts-node as the README says is what `npm start` (examples/demo.ts, tests/module/demo.spec.ts)
 * still does.
 */
export function commandFor(script: string, cwd = root): string[] {
    const path = isAbsolute(script) ? script : join(cwd, script);
    if (throughTsNode.includes(path) || !compiled.some(folder => inside(folder, path))) return ['-r', require.resolve('ts-node/register/transpile-only'), script];
    build ??= transpiledBuild('test-processes', ['src', 'tests/support', 'tests/fixtures', 'examples'].flatMap(v => sourcesIn(join(root, v))));
    return [join(build, relative(root, path)).replace(/\.ts$/, '.js')];
}

export class Child {
    readonly process: ChildProcess;
    readonly lines: string[] = [];
    protected waiters: { match: (line: string) => boolean, resolve: (line: string) => void }[] = [];
    protected stderr = '';
    readonly exited: Promise<{ code: number | null, signal: NodeJS.Signals | null }>;
    /** After `exited`, once its stdout and stderr are read to the end: every line is in `lines`. */
    readonly closed: Promise<void>;

    /** `user`: run as another OS user (needs root), e.g. `{ uid: 65534, gid: 65534 }` (nobody). */
    constructor(script: string, args: string[] = [], env: Record<string, string> = {}, cwd = root, user?: { uid: number, gid: number }) {
        this.process = spawn(process.execPath, [...commandFor(script, cwd), ...args], {
            cwd,
            env: { ...process.env, ...env, TS_NODE_PROJECT: join(root, 'tsconfig.json') },
            stdio: ['ignore', 'pipe', 'pipe'],
            ...user,
        });
        let buffer = '';
        this.process.stdout!.on('data', chunk => {
            buffer += chunk;
            let index: number;
            while ((index = buffer.indexOf('\n')) >= 0) {
                const line = buffer.slice(0, index);
                buffer = buffer.slice(index + 1);
                this.lines.push(line);
                this.waiters = this.waiters.filter(waiter => {
                    if (!waiter.match(line)) return true;
                    waiter.resolve(line);
                    return false;
                });
            }
        });
        this.process.stderr!.on('data', chunk => this.stderr += chunk);
        this.exited = new Promise(resolve => this.process.on('exit', (code, signal) => resolve({ code, signal })));
        this.closed = new Promise(resolve => this.process.on('close', () => resolve()));
    }

    get pid(): number {
        return this.process.pid!;
    }

    get errorOutput(): string {
        return this.stderr;
    }

    /** Resolves with the first line (seen or future) that matches. */
    waitForLine(match: string | RegExp | ((line: string) => boolean), timeout = 60_000): Promise<string> {
        const test = typeof match === 'function' ? match : typeof match === 'string' ? (line: string) => line.includes(match) : (line: string) => match.test(line);
        const seen = this.lines.find(test);
        if (seen !== undefined) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error(`Timed out waiting for ${match} from child ${this.pid}; stdout: ${this.lines.slice(-10).join(' | ')}; stderr: ${this.stderr.slice(-2000)}`)), timeout);
            const onExit = this.exited.then(({ code, signal }) => {
                clearTimeout(timer);
                reject(new Error(`Child ${this.pid} exited (${code ?? signal}) before printing ${match}; stderr: ${this.stderr.slice(-2000)}`));
            });
            this.waiters.push({ match: test, resolve: line => { clearTimeout(timer); void onExit; resolve(line); } });
        });
    }

    kill(signal: NodeJS.Signals = 'SIGKILL'): void {
        if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill(signal);
    }
}
