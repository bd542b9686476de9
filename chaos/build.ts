import { join } from 'path';
import { projectRoot, sourcesIn, transpiledBuild } from '../tools/transpiled-build';

/** What the child processes load: the library and the chaos files they import. */
const childSources = ['producer', 'worker', 'chaos-queue', 'exit-with-parent', 'process-config', 'random', 'records'].map(v => join(projectRoot, 'chaos', v + '.ts'));

export interface ChaosScripts {
    producer: string;
    worker: string;
}

/** A run starts a few child processes a second: they run compiled JavaScript (tools/transpiled-build.ts), in var/chaos/. */
export function buildChaosScripts(): ChaosScripts {
    const dir = transpiledBuild('chaos', [...sourcesIn(join(projectRoot, 'src')), ...childSources], join(projectRoot, 'chaos', 'tsconfig.json'));
    return { producer: join(dir, 'chaos', 'producer.js'), worker: join(dir, 'chaos', 'worker.js') };
}
