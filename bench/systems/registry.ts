import { settings } from '../lib/settings';
import { BenchDriver } from './bench-system';

/** Ours first, then the peers; each driver is loaded only when a run uses it. */
export const ours = ['sqlite-full', 'sqlite-normal', 'postgres'] as const;
export const peers = ['bullmq', 'pg-boss', 'graphile-worker'] as const;
/** With BENCH_BASE, ours once more on that commit's code, each right after its counterpart (bench/lib/base-library.ts). */
export const baseOf = (system: string) => `${system}@base`;
export const allSystems = [...ours.flatMap(v => settings.base ? [v, baseOf(v)] : [v]), ...peers];

const loaders: Record<string, () => BenchDriver> = {
    'sqlite-full': () => require('./sqlite').sqliteFull,
    'sqlite-normal': () => require('./sqlite').sqliteNormal,
    'postgres': () => require('./postgres').postgres,
    'sqlite-full@base': () => require('./sqlite').sqliteFullBase,
    'sqlite-normal@base': () => require('./sqlite').sqliteNormalBase,
    'postgres@base': () => require('./postgres').postgresBase,
    'bullmq': () => require('./bullmq').bullmq,
    'pg-boss': () => require('./pg-boss').pgBoss,
    'graphile-worker': () => require('./graphile-worker').graphileWorker,
};

export function driver(name: string): BenchDriver {
    const load = loaders[name];
    if (!load) throw new Error(`Unknown bench system '${name}'; known: ${allSystems.join(', ')}`);
    return load();
}

/** The systems of this run: BENCH_SYSTEMS (comma-separated), else all. */
export function selectedSystems(): string[] {
    const wanted = process.env.BENCH_SYSTEMS ? process.env.BENCH_SYSTEMS.split(',').map(v => v.trim()) : allSystems;
    for (const name of wanted) driver(name);
    return wanted;
}
