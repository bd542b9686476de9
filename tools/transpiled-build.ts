import { createHash } from 'crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';

export const projectRoot = resolve(__dirname, '..');

/** The .ts files under `dir`, recursively. */
export function sourcesIn(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap(entry => entry.isDirectory()
        ? sourcesIn(join(dir, entry.name))
        : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

/**
 * Child processes (the chaos run's, the tests' fixtures) run compiled
 * JavaScript: ts-node costs each start several seconds of CPU on a 2-core
 * machine (it transpiles the whole library again), and these runs start
 * dozens to hundreds of them. Each file is transpiled on its own with the
 * Deepkit type compiler (as ts-node's transpile-only mode does; a full tsc run
 * took up to 19 s on the loaded machine), into var/<name>/ inside the project
 * so that node_modules resolves, with the project's layout kept. The output is
 * kept, keyed by a hash of the sources, so that later runs on unchanged code
 * start at once. Returns the build's folder.
 */
export function transpiledBuild(name: string, files: string[], tsconfig = join(projectRoot, 'tsconfig.json')): string {
    const hash = createHash('sha256');
    for (const file of files) hash.update(file).update(readFileSync(file));
    const parent = join(projectRoot, 'var', name);
    const dir = join(parent, 'build-' + hash.digest('hex').slice(0, 16));
    if (existsSync(dir)) return dir;

    mkdirSync(parent, { recursive: true });
    for (const entry of readdirSync(parent)) {
        // Builds of older sources, unless another run may still use them.
        const path = join(parent, entry);
        if (/^(build|staging)-/.test(entry) && Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
    const ts = require('typescript') as typeof import('typescript');
    const { transformer } = require('@deepkit/type-compiler');
    const config = ts.getParsedCommandLineOfConfigFile(tsconfig, {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    if (!config) throw new Error(`${tsconfig} could not be read`);
    const staging = mkdtempSync(join(parent, 'staging-'));
    // mkdtemp makes it private: tests run fixtures as another OS user too.
    chmodSync(staging, 0o755);
    for (const file of files) {
        const output = ts.transpileModule(readFileSync(file, 'utf8'), {
            fileName: file,
            compilerOptions: { ...config.options, sourceMap: false, declaration: false },
            transformers: { before: [transformer] },
        });
        const target = join(staging, relative(projectRoot, file)).replace(/\.ts$/, '.js');
        mkdirSync(dirname(target), { recursive: true });
        writeFileSync(target, output.outputText);
    }
    // Whole or not at all: a run that sees the folder can use it.
    try {
        renameSync(staging, dir);
    } catch (error) {
        rmSync(staging, { recursive: true, force: true });
        if (!existsSync(dir)) throw error;
    }
    return dir;
}
