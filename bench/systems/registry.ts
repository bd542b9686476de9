import { BenchDriver } from './bench-system';

/** Ours first, then the peers; each driver is loaded only when a run uses it. */
export const ours = ['sqlite-full', 'sqlite-normal', 'postgres'] as const;
export const peers = ['bullmq', 'pg-boss', 'graphile-worker'] as const;
export const allSystems = [...ours, ...peers];

const loaders: Record<string, () => BenchDriver> = {
    'sqlite-full': () => require('./sqlite').sqliteFull,
    'sqlite-normal': () => require('./sqlite').sqliteNormal,
    'postgres': () => require('./postgres').postgres,
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
