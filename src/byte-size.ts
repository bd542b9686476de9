import { QueueOptionError } from './errors';

/**
 * A size as users write it: bytes as a number, or a string of a number and one
 * unit: `'512b'`, `'64kb'`, `'16mb'`, `'1gb'`. Units are binary (`'1kb'` is
 * 1024 bytes), as in the `bytes` package that Express and others use.
 */
export type ByteSize = number | string;

const unitBytes: Record<string, number> = { b: 1, kb: 1024, mb: 1024 ** 2, gb: 1024 ** 3 };
const byteSizePattern = /^(\d+(?:\.\d+)?)(b|kb|mb|gb)$/i;

/**
 * The largest value one row may hold: SQLite's default `SQLITE_MAX_LENGTH` is
 * 1,000,000,000 bytes and PostgreSQL's `bytea` stops at 1 GiB.
 */
export const maxStoredBytes = 1_000_000_000;

/** Parses a size into whole bytes; a malformed or out-of-range value is a `QueueOptionError` naming the option. */
export function parseByteSize(value: ByteSize, option: string, min = 1, max = maxStoredBytes): number {
    let bytes: number;
    if (typeof value === 'number') {
        bytes = value;
    } else if (typeof value === 'string') {
        const match = byteSizePattern.exec(value);
        if (!match) {
            throw new QueueOptionError(`Option '${option}' has the invalid size ${JSON.stringify(value)}: use bytes or a number with one unit of b, kb, mb, gb (e.g. '512kb', '16mb')`);
        }
        bytes = Number(match[1]) * unitBytes[match[2].toLowerCase()];
    } else {
        throw new QueueOptionError(`Option '${option}' must be a size (bytes or a string like '16mb'), got ${typeof value}`);
    }
    if (!Number.isFinite(bytes) || bytes < min || bytes > max) {
        throw new QueueOptionError(`Option '${option}' must be a size from ${min} to ${max} bytes, got ${JSON.stringify(value)}`);
    }
    return Math.floor(bytes);
}

