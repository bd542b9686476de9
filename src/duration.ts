import { QueueOptionError } from './errors';

/**
 * A time span as users write it: milliseconds as a number, or a string of a
 * number and one unit: `'500ms'`, `'1s'`, `'5m'`, `'1h'`, `'1d'`.
 */
export type Duration = number | string;

/**
 * The longest duration that feeds a timer: Node runs a `setTimeout`/`setInterval`
 * above 2^31 - 1 ms after 1 ms instead, so a `'30d'` poll interval would poll in a loop.
 */
export const maxTimerDuration = 2 ** 31 - 1;

/**
 * The longest duration stored with a message (delays, retention, deduplication
 * intervals): 36,500 days. Added to the clock it stays an exact integer in
 * JavaScript and SQLite and a valid PostgreSQL `timestamptz` and `interval`.
 */
export const maxStoredDuration = 36_500 * 86_400_000;

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration into whole milliseconds. Strict on purpose: `'1 sec'`,
 * `'5 minutes'`, `''`, negative or non-finite values are errors that name the
 * option, never a silent 0. `max` defaults to the timer limit; durations that
 * never feed a timer pass `maxStoredDuration`.
 */
export function parseDuration(value: Duration, option: string, min = 0, max = maxTimerDuration): number {
    let ms: number;
    if (typeof value === 'number') {
        ms = value;
    } else if (typeof value === 'string') {
        const match = durationPattern.exec(value);
        if (!match) {
            throw new QueueOptionError(`Option '${option}' has the invalid duration ${JSON.stringify(value)}: use milliseconds or a number with one unit of ms, s, m, h, d (e.g. '500ms', '1s', '5m')`);
        }
        ms = Number(match[1]) * unitMs[match[2]];
    } else {
        throw new QueueOptionError(`Option '${option}' must be a duration (milliseconds or a string like '5m'), got ${typeof value}`);
    }
    if (!Number.isFinite(ms) || ms < min) {
        throw new QueueOptionError(`Option '${option}' must be a finite duration of at least ${min}ms, got ${JSON.stringify(value)}`);
    }
    ms = Math.round(ms);
    if (ms > max) {
        const why = max === maxTimerDuration ? ' (about 24.8 days), the longest timer Node.js runs' : ` (${Math.floor(max / 86_400_000)} days)`;
        throw new QueueOptionError(`Option '${option}' must be a duration of at most ${max}ms${why}, got ${JSON.stringify(value)}`);
    }
    return ms;
}
