import { Duration, maxStoredDuration, parseDuration } from '../duration';
import { QueueOptionError } from '../errors';
import { FlowLimits } from '../storage';

/** At most `max` deliveries started per window of `per`, across all consumers of the channel. */
export interface RateLimitOptions {
    max: number;
    per: Duration;
}

/** The flow-control options of a channel (channel options and consume options both take them). */
export interface FlowOptions {
    /** At most this many messages of the channel leased at once, across every consumer, process and host. Default: no limit. */
    concurrency?: number;
    /** At most `max` deliveries started per window of `per` (fixed windows, see storage.ts), across every consumer. Default: no limit. */
    rateLimit?: RateLimitOptions;
}

const maxLimit = 2_147_483_647;

function positiveInteger(value: unknown, option: string): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > maxLimit) {
        throw new QueueOptionError(`Option '${option}' must be an integer from 1 to ${maxLimit}, got ${JSON.stringify(value)}`);
    }
    return value;
}

/** Parses `concurrency` and `rateLimit` once; `base` holds the channel's limits that consume options override. */
export function parseFlowOptions(options: FlowOptions, base: FlowLimits = {}): FlowLimits {
    const limits: FlowLimits = { ...base };
    if (options.concurrency !== undefined) limits.concurrency = positiveInteger(options.concurrency, 'concurrency');
    if (options.rateLimit !== undefined) {
        const rate = options.rateLimit;
        if (typeof rate !== 'object' || rate === null) throw new QueueOptionError(`Option 'rateLimit' must be { max, per }, got ${JSON.stringify(rate)}`);
        for (const key of Object.keys(rate)) {
            if (key !== 'max' && key !== 'per') throw new QueueOptionError(`Unknown rateLimit option '${key}'; known options: max, per`);
        }
        if (rate.per === undefined) throw new QueueOptionError("Option 'rateLimit.per' is required, e.g. { max: 100, per: '1s' }");
        limits.rate = { max: positiveInteger(rate.max, 'rateLimit.max'), per: parseDuration(rate.per, 'rateLimit.per', 1, maxStoredDuration) };
    }
    return limits;
}

/** For log lines: `concurrency 2, rateLimit 100 per 1000ms`, or `no limits`. */
export function describeFlowLimits(limits: FlowLimits): string {
    const parts: string[] = [];
    if (limits.concurrency !== undefined) parts.push(`concurrency ${limits.concurrency}`);
    if (limits.rate) parts.push(`rateLimit ${limits.rate.max} per ${limits.rate.per}ms`);
    return parts.length ? parts.join(', ') : 'no limits';
}

export function sameFlowLimits(a: FlowLimits, b: FlowLimits): boolean {
    return a.concurrency === b.concurrency && a.rate?.max === b.rate?.max && a.rate?.per === b.rate?.per;
}

export function hasFlowLimits(limits: FlowLimits): boolean {
    return limits.concurrency !== undefined || limits.rate !== undefined;
}
