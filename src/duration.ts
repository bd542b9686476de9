import { QueueOptionError } from './errors';

/**
 * A time span as users write it: milliseconds as a number, or a string of a
 * number and one unit: `'500ms'`, `'1s'`, `'5m'`, `'1h'`, `'1d'`.
 */
export type Duration = number | string;

const unitMs: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const durationPattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/**
 * Parses a duration into whole milliseconds. Strict on purpose: `'1 sec'`,
 * `'5 minutes'`, `''`, negative or non-finite values are errors that name the
 * option, never a silent 0.
 */
export function parseDuration(value: Duration, option: string, min = 0): number {
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
    return Math.round(ms);
}
