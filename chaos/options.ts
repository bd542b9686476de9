import { parseDuration } from '../src';

export type ChaosBackendName = 'sqlite' | 'postgres';

/** One chaos run's knobs. Every one is a CLI flag (`--kill-interval 300ms`) and an env variable (`CHAOS_KILL_INTERVAL`). */
export interface ChaosOptions {
    backends: ChaosBackendName[];
    /** Resolved produce() calls to reach in total, spread over `duration`. */
    messages: number;
    producers: number;
    workers: number;
    /** Mean time between two kills; each wait is drawn from 0.5x to 1.5x of it. */
    killInterval: number;
    /** How long producers spread their messages and processes are killed. */
    duration: number;
    maxParallel: number;
    seed: number;
    /**
     * Each producer sends its messages in bursts of this many, as fast as it can, with the bursts spread over
     * `duration`: a burst leaves a backlog that workers drain at full speed (large group commits of results,
     * the case where a kill cuts off the most), between bursts they idle.
     */
    burst: number;
    /** produce() calls in flight per producer process (they share group commits). */
    produceConcurrency: number;
    /** A callback waits up to this long (a third of them not at all), so that messages are in flight when a kill comes. */
    workMax: number;
    /** High, because every kill of a worker costs an attempt of each message it had leased. */
    maxAttempts: number;
    lease: number;
    /** PostgreSQL server restarts, evenly spread over `duration`; one whose lock comes late happens late (the drain waits for it). */
    pgRestarts: number;
    /** How long a restart waits for the exclusive restart lock (others' test files hold it shared while they run) before the run fails. */
    restartLockTimeout: number;
    /** How long after its callback completed a message's settlement may still be uncommitted (see the explanation rule). */
    settleWindow: number;
    drainTimeout: number;
    /** Where ledgers and the SQLite file go; a fresh folder under it per run. */
    dir: string;
    /** Keep the run folder also when the run passed. */
    keep: boolean;
    /** The caller already holds the exclusive restart lock (a jest file under describePostgres exclusive): the first restart does not take it again. */
    restartLockHeld: boolean;
}

export const defaultChaosOptions: ChaosOptions = {
    backends: ['sqlite', 'postgres'],
    messages: 12_000,
    producers: 2,
    workers: 3,
    killInterval: 400,
    duration: 20_000,
    maxParallel: 8,
    seed: 1,
    burst: 500,
    produceConcurrency: 8,
    workMax: 3,
    maxAttempts: 1000,
    lease: 10_000,
    pgRestarts: 1,
    restartLockTimeout: 120_000,
    settleWindow: 5_000,
    drainTimeout: 90_000,
    dir: 'var/chaos',
    keep: false,
    restartLockHeld: false,
};

const durations = new Set<keyof ChaosOptions>(['killInterval', 'duration', 'workMax', 'lease', 'restartLockTimeout', 'settleWindow', 'drainTimeout']);
const integers = new Set<keyof ChaosOptions>(['messages', 'producers', 'workers', 'maxParallel', 'seed', 'burst', 'produceConcurrency', 'maxAttempts', 'pgRestarts']);

const kebab = (name: string) => name.replace(/[A-Z]/g, c => '-' + c.toLowerCase());
const envName = (name: string) => 'CHAOS_' + name.replace(/[A-Z]/g, c => '_' + c).toUpperCase();

/** Flags win over env variables, env variables over the defaults. `--backend sqlite|postgres|both`. */
export function parseChaosOptions(argv: string[], env: NodeJS.ProcessEnv = process.env, base: ChaosOptions = defaultChaosOptions): ChaosOptions {
    const options: ChaosOptions = { ...base };
    const names = Object.keys(base) as (keyof ChaosOptions)[];
    const apply = (name: string, value: string, source: string) => {
        if (name === 'backend' || name === 'backends') {
            options.backends = value === 'both' ? ['sqlite', 'postgres'] : value === 'sqlite' || value === 'postgres' ? [value] : fail(`${source}: expected sqlite, postgres or both, got ${JSON.stringify(value)}`);
            return;
        }
        const key = names.find(v => v === name);
        if (!key) fail(`${source}: unknown option`);
        if (durations.has(key)) (options as any)[key] = parseDuration(/^\d+(\.\d+)?$/.test(value) ? Number(value) : value, source);
        else if (integers.has(key)) {
            const number = Number(value);
            if (!Number.isInteger(number) || number < (key === 'pgRestarts' || key === 'seed' ? 0 : 1)) fail(`${source}: expected a positive integer, got ${JSON.stringify(value)}`);
            (options as any)[key] = number;
        } else if (typeof base[key] === 'boolean') (options as any)[key] = value === '' || value === 'true' || value === '1';
        else (options as any)[key] = value;
    };
    for (const name of ['backend', ...names]) {
        const value = env[envName(name)];
        if (value !== undefined) apply(name, value, envName(name));
    }
    for (let i = 0; i < argv.length; i++) {
        const match = /^--([a-z-]+)(?:=(.*))?$/.exec(argv[i]);
        if (!match) fail(`Unexpected argument ${JSON.stringify(argv[i])}`);
        const name = match[1].replace(/-([a-z])/g, (_, c) => c.toUpperCase());
        const isFlag = typeof (base as any)[name] === 'boolean';
        const value = match[2] ?? (isFlag ? 'true' : argv[++i]);
        if (value === undefined) fail(`--${match[1]} needs a value`);
        apply(name, value, `--${match[1]}`);
    }
    return options;
}

/** The options as the flags that repeat the run. */
export function describeOptions(options: ChaosOptions): string {
    const backend = options.backends.length > 1 ? 'both' : options.backends[0];
    return `--backend ${backend} ` + (Object.keys(options) as (keyof ChaosOptions)[])
        .filter(v => v !== 'backends' && v !== 'restartLockHeld' && v !== 'keep')
        .map(v => `--${kebab(v)} ${options[v]}`).join(' ') + (options.keep ? ' --keep' : '');
}

function fail(message: string): never {
    throw new Error(`chaos: ${message}`);
}
