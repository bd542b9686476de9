import { createHash } from 'crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { dirname, join, relative, resolve } from 'path';

const projectRoot = resolve(__dirname, '..');
/** What the child processes load: the library and the chaos files they import. */
const childSources = ['producer', 'worker', 'chaos-queue', 'exit-with-parent', 'process-config', 'random', 'records'].map(v => join(projectRoot, 'chaos', v + '.ts'));

export interface ChaosScripts {
    producer: string;
    worker: string;
}

function sourcesIn(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap(entry => entry.isDirectory()
        ? sourcesIn(join(dir, entry.name))
        : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : []);
}

/**
 * The child processes run compiled JavaScript: a run starts a few of them a
 * second, and ts-node would cost each start about a second of CPU on a
 * 2-core machine. Each file is transpiled on its own with the Deepkit type
 * compiler (as ts-node's transpile-only mode does; a full tsc run took up to
 * 19 s on the loaded machine), into var/chaos/ inside the project so that
 * node_modules resolves. The output is kept, keyed by a hash of the sources,
 * so that later runs on unchanged code start at once.
 */
export function buildChaosScripts(): ChaosScripts {
    const files = [...sourcesIn(join(projectRoot, 'src')), ...childSources];
    const hash = createHash('sha256');
    for (const file of files) hash.update(file).update(readFileSync(file));
    const parent = join(projectRoot, 'var', 'chaos');
    const dir = join(parent, 'build-' + hash.digest('hex').slice(0, 16));
    const scripts = { producer: join(dir, 'chaos', 'producer.js'), worker: join(dir, 'chaos', 'worker.js') };
    if (existsSync(dir)) return scripts;

    mkdirSync(parent, { recursive: true });
    for (const entry of readdirSync(parent)) {
        // Builds of older sources, unless another run may still use them.
        const path = join(parent, entry);
        if (entry.startsWith('build-') && Date.now() - statSync(path).mtimeMs > 3_600_000) rmSync(path, { recursive: true, force: true });
    }
    const ts = require('typescript') as typeof import('typescript');
    const { transformer } = require('@deepkit/type-compiler');
    const config = ts.getParsedCommandLineOfConfigFile(join(projectRoot, 'chaos', 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => undefined });
    if (!config) throw new Error('chaos/tsconfig.json could not be read');
    const staging = mkdtempSync(join(parent, 'staging-'));
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
    return scripts;
}
