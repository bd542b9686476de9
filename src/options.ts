import { Duration, maxStoredDuration, maxTimerDuration, parseDuration } from './duration';
import { QueueOptionError } from './errors';
import { QueueOrmDatabase, QueueOrmSession } from './orm/orm-types';

/** How a channel treats repeated messages. Same values as `@deepkit/broker`'s enum. */
export enum QueueMessageProcessing {
    /** A message whose hash was already produced on the channel within `deduplicationInterval` is not enqueued again; delivery is lease-protected. */
    exactlyOnce = 0,
    /** The default: every produced message is enqueued; delivery is at least once. */
    atLeastOnce = 1,
}

/** Retry timing after a failed attempt: `delay * factor^(attempt - 1)`, capped at `maxDelay`. */
export interface BackoffOptions {
    /** Wait before the first retry. Default `'1s'`. */
    delay?: Duration;
    /** Growth per attempt. Default 2; 1 gives a fixed delay. */
    factor?: number;
    /** Upper bound of any retry delay. Default `'10m'`. */
    maxDelay?: Duration;
}

export interface BackoffOptionsResolved {
    delay: number;
    factor: number;
    maxDelay: number;
}

export interface BrokerQueueChannelOptions {
    /** Default `QueueMessageProcessing.atLeastOnce`. */
    process?: QueueMessageProcessing;
    /** exactlyOnce only: how long a produced hash blocks an identical message. Default `'5m'`. */
    deduplicationInterval?: Duration;
    /** Deliveries before a message is kept as failed. Stored with each message at produce time. Default 5. */
    maxAttempts?: number;
    /** Delay between attempts. Default `{ delay: '1s', factor: 2, maxDelay: '10m' }`. */
    backoff?: BackoffOptions;
    /** How long a delivered message belongs to its consumer without renewal; renewed every third of it while the callback runs. Default `'30s'`. */
    lease?: Duration;
    /** How long a processed message is kept before removal. Default `0`: removed at once. */
    retention?: Duration;
    /** Default `timeout` of this channel's consumers. Default: none. */
    timeout?: Duration;
}

export interface BrokerQueueChannelOptionsResolved {
    process: QueueMessageProcessing;
    deduplicationInterval: number;
    maxAttempts: number;
    backoff: BackoffOptionsResolved;
    lease: number;
    retention: number;
    timeout?: number;
}

export interface BrokerQueueProduceOptions {
    /** Deliver no earlier than this from now. Default 0. */
    delay?: Duration;
    /** Higher is delivered first. An integer, default 0. */
    priority?: number;
    /** Overrides the channel's processing for this message. */
    process?: QueueMessageProcessing;
    /** Overrides the channel's deduplication interval for this message. */
    deduplicationInterval?: Duration;
    /** exactlyOnce: the deduplication key. Default: a hash of the serialized message. */
    hash?: string | number;
    /**
     * A `@deepkit/orm` `DatabaseSession` with a transaction, of the database the queue is stored in:
     * the message is written in that transaction, visible to consumers once it commits, gone if it rolls back.
     */
    session?: QueueOrmSession;
}

export interface BrokerQueueProduceOptionsResolved {
    delay: number;
    priority: number;
    /** Set when the message is deduplicated (exactlyOnce); then `deduplicationInterval` applies. */
    deduplication?: { hash?: string, interval: number };
}

export interface BrokerQueueConsumeOptions {
    /** Callbacks running at once in this consumer. Default 1. */
    maxParallel?: number;
    /**
     * Messages leased ahead of free callback slots, to save round trips (0 to 256).
     * Default: adaptive, as many as this consumer finishes in about 20 ms (at least
     * `maxParallel`), so fast callbacks claim in large batches while slow ones
     * never hold messages other workers could run.
     */
    prefetch?: number;
    /**
     * Finished callbacks whose results may wait for their commit (results of many callbacks share one
     * transaction) before this consumer starts another callback (1 to 10,000). Bounds what a crash
     * redelivers: at most `maxParallel + maxUnsettled` messages whose callbacks ran or were running.
     * Larger batches per commit, a higher drain rate; default `max(maxParallel, 128)`.
     */
    maxUnsettled?: number;
    /**
     * A `@deepkit/orm` `Database` the queue is stored in: each message runs in `database.transaction(...)`,
     * the callback gets its session as third argument, and the message's result commits in the same transaction.
     */
    database?: QueueOrmDatabase;
    /**
     * How long one callback may run. Past it, the message is retried as a failed
     * attempt (backoff and `maxAttempts` as for a throw), `message.signal` is
     * aborted and the slot is free; what the callback does afterwards settles
     * nothing. Default: the channel's `timeout`, else none.
     */
    timeout?: Duration;
}

export interface BrokerQueueConsumeOptionsResolved {
    maxParallel: number;
    /** The fixed prefetch, or the minimum when `adaptivePrefetch`. */
    prefetch: number;
    adaptivePrefetch: boolean;
    maxUnsettled: number;
    database?: QueueOrmDatabase;
    timeout?: number;
}

/** A timer: at most maxTimerDuration (Node fires a longer one after 1 ms). */
function parseTimeout(value: Duration): number {
    return parseDuration(value, 'timeout', 1, maxTimerDuration);
}

export const defaultBackoff: BackoffOptionsResolved = { delay: 1000, factor: 2, maxDelay: 600_000 };

function parseProcess(value: unknown, option: string): QueueMessageProcessing {
    if (value === QueueMessageProcessing.atLeastOnce || value === QueueMessageProcessing.exactlyOnce) return value;
    throw new QueueOptionError(`Option '${option}' must be QueueMessageProcessing.atLeastOnce or QueueMessageProcessing.exactlyOnce, got ${JSON.stringify(value)}`);
}

/** The range of PostgreSQL's `integer`, where `priority` and `maxAttempts` are stored; SQLite keeps the same rule. */
const int32Min = -2_147_483_648;
const int32Max = 2_147_483_647;

function parseInteger(value: unknown, option: string, min: number, max: number): number {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new QueueOptionError(`Option '${option}' must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
}

function rejectUnknown(options: object, known: string[], what: string): void {
    for (const key of Object.keys(options)) {
        if (!known.includes(key)) {
            throw new QueueOptionError(`Unknown ${what} option '${key}'; known options: ${known.join(', ')}`);
        }
    }
}

export function parseBackoff(options: BackoffOptions = {}, base: BackoffOptionsResolved = defaultBackoff): BackoffOptionsResolved {
    rejectUnknown(options, ['delay', 'factor', 'maxDelay'], 'backoff');
    const factor = options.factor ?? base.factor;
    if (typeof factor !== 'number' || !Number.isFinite(factor) || factor < 1) {
        throw new QueueOptionError(`Option 'backoff.factor' must be a number of at least 1, got ${JSON.stringify(factor)}`);
    }
    return {
        // Retry delays are stored with the message, never run as timers.
        delay: options.delay === undefined ? base.delay : parseDuration(options.delay, 'backoff.delay', 0, maxStoredDuration),
        factor,
        maxDelay: options.maxDelay === undefined ? base.maxDelay : parseDuration(options.maxDelay, 'backoff.maxDelay', 0, maxStoredDuration),
    };
}

export const defaultChannelOptions: BrokerQueueChannelOptionsResolved = {
    process: QueueMessageProcessing.atLeastOnce,
    deduplicationInterval: 300_000,
    maxAttempts: 5,
    backoff: defaultBackoff,
    lease: 30_000,
    retention: 0,
};

/** `defaults` lets a module config change the defaults of every channel. */
export function parseChannelOptions(
    options: BrokerQueueChannelOptions = {},
    defaults: BrokerQueueChannelOptionsResolved = defaultChannelOptions,
): BrokerQueueChannelOptionsResolved {
    rejectUnknown(options, ['process', 'deduplicationInterval', 'maxAttempts', 'backoff', 'lease', 'retention', 'timeout'], 'channel');
    return {
        process: options.process === undefined ? defaults.process : parseProcess(options.process, 'process'),
        deduplicationInterval: options.deduplicationInterval === undefined ? defaults.deduplicationInterval : parseDuration(options.deduplicationInterval, 'deduplicationInterval', 1, maxStoredDuration),
        maxAttempts: options.maxAttempts === undefined ? defaults.maxAttempts : parseInteger(options.maxAttempts, 'maxAttempts', 1, int32Max),
        backoff: parseBackoff(options.backoff, defaults.backoff),
        // A timer: renewed every third of it.
        lease: options.lease === undefined ? defaults.lease : parseDuration(options.lease, 'lease', 100),
        retention: options.retention === undefined ? defaults.retention : parseDuration(options.retention, 'retention', 0, maxStoredDuration),
        timeout: options.timeout === undefined ? defaults.timeout : parseTimeout(options.timeout),
    };
}

/**
 * The longest deduplication key, in UTF-8 bytes: with a channel name of 255 characters it still fits
 * PostgreSQL's limit of 2704 bytes per index entry. PostgreSQL text cannot hold NUL.
 */
const maxHashBytes = 1024;

function parseHash(hash: unknown): void {
    if (typeof hash !== 'string' && typeof hash !== 'number') {
        throw new QueueOptionError(`Option 'hash' must be a string or a number, got ${typeof hash}`);
    }
    if (typeof hash === 'string' && (hash.includes('\0') || Buffer.byteLength(hash) > maxHashBytes)) {
        throw new QueueOptionError(`Option 'hash' must be at most ${maxHashBytes} bytes in UTF-8 and contain no NUL character; hash longer keys yourself`);
    }
}

const noProduceOptions: BrokerQueueProduceOptions = {};

export function parseProduceOptions(options: BrokerQueueProduceOptions | undefined, channel: BrokerQueueChannelOptionsResolved): BrokerQueueProduceOptionsResolved {
    options ??= noProduceOptions;
    if (options !== noProduceOptions) {
        rejectUnknown(options, ['delay', 'priority', 'process', 'deduplicationInterval', 'hash', 'session'], 'produce');
    }
    const process = options.process === undefined ? channel.process : parseProcess(options.process, 'process');
    if (options.hash !== undefined) parseHash(options.hash);
    const resolved: BrokerQueueProduceOptionsResolved = {
        delay: options.delay === undefined ? 0 : parseDuration(options.delay, 'delay', 0, maxStoredDuration),
        priority: options.priority === undefined ? 0 : parseInteger(options.priority, 'priority', int32Min, int32Max),
    };
    if (process === QueueMessageProcessing.exactlyOnce) {
        resolved.deduplication = {
            hash: options.hash === undefined ? undefined : String(options.hash),
            interval: options.deduplicationInterval === undefined ? channel.deduplicationInterval : parseDuration(options.deduplicationInterval, 'deduplicationInterval', 1, maxStoredDuration),
        };
    }
    return resolved;
}

/** Enough results per commit for the group commit's drain rate at small `maxParallel` (bench/RESULTS.md, issue 12 item 2). */
const defaultMaxUnsettled = 128;

export function parseConsumeOptions(options: BrokerQueueConsumeOptions = {}): BrokerQueueConsumeOptionsResolved {
    rejectUnknown(options, ['maxParallel', 'prefetch', 'maxUnsettled', 'database', 'timeout'], 'consume');
    const maxParallel = options.maxParallel === undefined ? 1 : parseInteger(options.maxParallel, 'maxParallel', 1, 10_000);
    return {
        maxParallel,
        prefetch: options.prefetch === undefined ? Math.min(maxParallel, 256) : parseInteger(options.prefetch, 'prefetch', 0, 256),
        adaptivePrefetch: options.prefetch === undefined,
        maxUnsettled: options.maxUnsettled === undefined ? Math.max(maxParallel, defaultMaxUnsettled) : parseInteger(options.maxUnsettled, 'maxUnsettled', 1, 10_000),
        database: options.database,
        timeout: options.timeout === undefined ? undefined : parseTimeout(options.timeout),
    };
}

/** Delay before the retry that follows failed attempt number `attempt` (1-based). */
export function backoffDelay(backoff: BackoffOptionsResolved, attempt: number): number {
    // factor^attempt overflows to Infinity after enough attempts, and 0 * Infinity is NaN.
    if (backoff.delay === 0) return 0;
    return Math.min(backoff.maxDelay, Math.round(backoff.delay * Math.pow(backoff.factor, Math.max(0, attempt - 1))));
}
