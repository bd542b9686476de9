/**
 * `BENCH_BASE=<commit>`: our systems run once more as `<name>@base`, on the code of that commit, interleaved
 * with this checkout's in the same run, so that a change is measured side by side with what it changed.
 * The commit's `src/` is built once (with the project's type-compiler patched tsc) into
 * `bench/var/base-<sha>/dist`; its `node_modules` is a link to the project's, so both load the same packages.
 */
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, realpathSync, rmSync, symlinkSync } from 'fs';
import { join, resolve } from 'path';
import { WorkerConfig } from '../systems/bench-system';
import { emitTsc } from './emit-tsc';
import { settings } from './settings';

export type QueueLibrary = typeof import('../../src');

/** Only in the run's own process: a worker, compiled elsewhere, gets the path in its config. */
const projectRoot = resolve(__dirname, '../..');
let built: string | undefined;

/** The base commit's compiled entry point (`dist/index.js`), built on first use. */
export function baseLibraryPath(): string {
    if (built) return built;
    const commit = settings.base;
    if (!commit) throw new Error('Set BENCH_BASE to a commit to run the @base systems');
    const sha = execFileSync('git', ['-C', projectRoot, 'rev-parse', '--verify', `${commit}^{commit}`], { encoding: 'utf8' }).trim();
    const dir = join(projectRoot, 'bench', 'var', `base-${sha.slice(0, 12)}`);
    const index = join(dir, 'dist', 'index.js');
    if (!existsSync(index)) {
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        const archive = execFileSync('git', ['-C', projectRoot, 'archive', sha, 'src', 'tsconfig.json', 'tsconfig.build.json'], { maxBuffer: 64 * 1024 * 1024 });
        execFileSync('tar', ['-x', '-C', dir], { input: archive });
        symlinkSync(realpathSync(join(projectRoot, 'node_modules')), join(dir, 'node_modules'));
        console.log(`building ${sha.slice(0, 12)} (BENCH_BASE=${commit}) into ${dir}`);
        emitTsc(join(projectRoot, 'node_modules', 'typescript', 'bin', 'tsc'), ['-p', join(dir, 'tsconfig.build.json')], index);
    }
    return built = index;
}

/**
 * The code a system runs: this checkout's, or the build named in its config (`library`). Loaded on demand,
 * so that a worker holds one of them in memory, not both (peak RSS is measured).
 */
export function queueLibrary(config: WorkerConfig): QueueLibrary {
    return require(config.library ? String(config.library) : '../../src');
}
