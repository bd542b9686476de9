import { Cron } from 'croner';
import { Duration, parseDuration } from '../duration';
import { QueueOptionError } from '../errors';

/**
 * What a scheduler does with ticks that passed while no scheduler ran (downtime) or that it
 * fires late:
 * - `'latest'` (default): one message, for the latest of them.
 * - `'none'`: none; a tick fired more than `onTimeTolerance` late is skipped and the schedule
 *   goes on with its next tick.
 * - `'all'`: one message per tick, at most the latest `catchUpLimit` of them.
 */
export type ScheduleCatchUp = 'latest' | 'none' | 'all';

/** The second argument of `channel.schedule(key, options, data)`: exactly one of `cron` and `every`. */
export interface ScheduleOptions {
    /** A cron pattern of 5 fields (minute precision) or 6 (seconds first), parsed by croner, e.g. `'0 3 * * *'`. */
    cron?: string;
    /** An IANA time zone for `cron`, e.g. `'Europe/Berlin'`. Default: UTC. */
    timezone?: string;
    /** A fixed interval instead of `cron`, at least `'100ms'`: ticks at multiples of it since the Unix epoch. */
    every?: Duration;
    /** See `ScheduleCatchUp`. Default `'latest'`. */
    catchUp?: ScheduleCatchUp;
    /** With `catchUp: 'all'`: at most this many missed ticks are enqueued, the latest ones (1 to 10,000). Default 100. */
    catchUpLimit?: number;
}

/** Parsed once; stored as JSON with the schedule. Exactly one of `cron` and `every` (ms) is set. */
export interface ScheduleOptionsResolved {
    cron?: string;
    timezone?: string;
    every?: number;
    catchUp: ScheduleCatchUp;
    catchUpLimit: number;
}

/** How late a tick may fire and still count as on time for `catchUp: 'none'` (or the poll interval, when longer). */
export const onTimeTolerance = 5000;
export const minEvery = 100;
export const defaultCatchUpLimit = 100;
const maxCatchUpLimit = 10_000;
const known = ['cron', 'timezone', 'every', 'catchUp', 'catchUpLimit'];
const catchUps: ScheduleCatchUp[] = ['latest', 'none', 'all'];

/** Throws `QueueOptionError` naming the bad option; nothing is stored before this passed. */
export function parseScheduleOptions(options: ScheduleOptions): ScheduleOptionsResolved {
    if (typeof options !== 'object' || options === null) {
        throw new QueueOptionError(`schedule() needs options such as { cron: '0 3 * * *' } or { every: '5m' }, got ${JSON.stringify(options)}`);
    }
    for (const key of Object.keys(options)) {
        if (!known.includes(key)) throw new QueueOptionError(`Unknown schedule option '${key}'; known options: ${known.join(', ')}`);
    }
    const catchUp = options.catchUp ?? 'latest';
    if (!catchUps.includes(catchUp)) {
        throw new QueueOptionError(`Option 'catchUp' must be 'latest', 'none' or 'all', got ${JSON.stringify(catchUp)}`);
    }
    const catchUpLimit = options.catchUpLimit ?? defaultCatchUpLimit;
    if (typeof catchUpLimit !== 'number' || !Number.isInteger(catchUpLimit) || catchUpLimit < 1 || catchUpLimit > maxCatchUpLimit) {
        throw new QueueOptionError(`Option 'catchUpLimit' must be an integer from 1 to ${maxCatchUpLimit}, got ${JSON.stringify(catchUpLimit)}`);
    }
    if ((options.cron === undefined) === (options.every === undefined)) {
        throw new QueueOptionError("A schedule needs exactly one of 'cron' (e.g. '0 3 * * *') and 'every' (e.g. '5m')");
    }
    if (options.every !== undefined) {
        if (options.timezone !== undefined) throw new QueueOptionError("Option 'timezone' applies to 'cron' schedules only, not to 'every'");
        return { every: parseDuration(options.every, 'every', minEvery), catchUp, catchUpLimit };
    }
    const timezone = options.timezone === undefined ? undefined : parseTimezone(options.timezone);
    return { cron: parseCron(options.cron, timezone), ...timezone === undefined ? {} : { timezone }, catchUp, catchUpLimit };
}

/** A croner job that never runs by itself: only asked for tick times. */
export function cronFor(pattern: string, timezone?: string): Cron {
    return new Cron(pattern, { paused: true, timezone, mode: '5-or-6-parts' });
}

function parseCron(pattern: unknown, timezone?: string): string {
    if (typeof pattern !== 'string' || !pattern.trim()) {
        throw new QueueOptionError(`Option 'cron' must be a cron pattern such as '0 3 * * *', got ${JSON.stringify(pattern)}`);
    }
    let next: Date | null;
    try {
        next = cronFor(pattern, timezone).nextRun();
    } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        throw new QueueOptionError(`Option 'cron' has the invalid pattern ${JSON.stringify(pattern)}: ${reason}`, { cause: error });
    }
    if (!next) throw new QueueOptionError(`Option 'cron' has the pattern ${JSON.stringify(pattern)}, which never matches a date`);
    return pattern;
}

function parseTimezone(timezone: unknown): string {
    if (typeof timezone !== 'string' || !timezone) {
        throw new QueueOptionError(`Option 'timezone' must be an IANA time zone such as 'Europe/Berlin', got ${JSON.stringify(timezone)}`);
    }
    try {
        // Intl knows the same zones as croner (which converts through Intl), with a clearer error.
        new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    } catch {
        throw new QueueOptionError(`Option 'timezone' has the unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as 'Europe/Berlin' or 'UTC'`);
    }
    return timezone;
}

/** The stored forms: `spec` is all of it, `timing` what decides tick times (see `ScheduleUpsert`). */
export function serializeScheduleOptions(options: ScheduleOptionsResolved): { spec: string, timing: string } {
    const timing = options.every !== undefined ? { every: options.every } : { cron: options.cron, timezone: options.timezone };
    const spec: ScheduleOptionsResolved = { ...timing, catchUp: options.catchUp, catchUpLimit: options.catchUpLimit };
    return { spec: JSON.stringify(spec), timing: JSON.stringify(timing) };
}

/** Reads a stored spec; validates it again, since another version of the package may have written it. */
export function deserializeScheduleOptions(spec: string): ScheduleOptionsResolved {
    const parsed = JSON.parse(spec);
    for (const key of Object.keys(parsed)) if (parsed[key] === undefined || parsed[key] === null) delete parsed[key];
    return parseScheduleOptions(parsed);
}

/** `cron '0 3 * * *' Europe/Berlin` or `every 5m`, for logs and the CLI. */
export function describeSchedule(options: ScheduleOptionsResolved): string {
    if (options.every !== undefined) return `every ${formatMs(options.every)}`;
    return `cron '${options.cron}'${options.timezone ? ' ' + options.timezone : ''}`;
}

function formatMs(ms: number): string {
    for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
        if (ms % size === 0) return `${ms / size}${unit}`;
    }
    return `${ms}ms`;
}
