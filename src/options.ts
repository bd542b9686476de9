import { ByteSize, parseByteSize } from './byte-size';
import { Duration, maxStoredDuration, maxTimerDuration, parseDuration } from './duration';
import { QueueOptionError } from './errors';
import { QueueOrmDatabase, QueueOrmSession } from './orm/orm-types';
import { FlowOptions, parseFlowOptions } from './flow/flow-options';
import { FlowLimits } from './storage';

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

/** `concurrency` and `rateLimit` (src/flow/flow-options.ts) bound the channel across every consumer, process and host. */
export interface BrokerQueueChannelOptions extends FlowOptions {
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
    /**
     * The largest message `produce()`, `produceMany()` and `schedule()` accept, measured after BSON
     * serialization: bytes or a size like `'16mb'`, at most 1,000,000,000. A larger one is rejected
     * with `QueueMessageTooLargeError` and nothing is stored. Default `'16mb'` (16 MiB).
     */
    maxMessageSize?: ByteSize;
}

export interface BrokerQueueChannelOptionsResolved {
    process: QueueMessageProcessing;
    deduplicationInterval: number;
    maxAttempts: number;
    backoff: BackoffOptionsResolved;
    lease: number;
    retention: number;
    timeout?: number;
    /** Global flow limits (`concurrency`, `rateLimit`), declared by each consumer of the channel. Default: none. */
    flow: FlowLimits;
    maxMessageSize: number;
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

/** `concurrency` and `rateLimit` here override the channel's (they are still global, not per consumer). */
export interface BrokerQueueConsumeOptions extends FlowOptions {
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
    /**
     * The most payload bytes this consumer holds at once, running and prefetched together: a claim
     * stops before the message that would exceed it. Bytes or a size like `'64mb'`, at least the
     * channel's `maxMessageSize`, so that the largest message always fits (a message larger than
     * the budget, stored under a higher limit, is still delivered, alone). Default `'64mb'`, or the
     * channel's `maxMessageSize` when that is larger.
     */
    prefetchBytes?: ByteSize;
}

export interface BrokerQueueConsumeOptionsResolved {
    maxParallel: number;
    /** The fixed prefetch, or the minimum when `adaptivePrefetch`. */
    prefetch: number;
    adaptivePrefetch: boolean;
    maxUnsettled: number;
    prefetchBytes: number;
    database?: QueueOrmDatabase;
    timeout?: number;
    /** Only the flow limits these options set; they override the channel's. */
    flow: FlowLimits;
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
    flow: {},
    maxMessageSize: 16 * 1024 ** 2,
};

export const defaultPrefetchBytes = 64 * 1024 ** 2;

/** `defaults` lets a module config change the defaults of every channel. */
export function parseChannelOptions(
    options: BrokerQueueChannelOptions = {},
    defaults: BrokerQueueChannelOptionsResolved = defaultChannelOptions,
): BrokerQueueChannelOptionsResolved {
    rejectUnknown(options, ['process', 'deduplicationInterval', 'maxAttempts', 'backoff', 'lease', 'retention', 'timeout', 'concurrency', 'rateLimit', 'maxMessageSize'], 'channel');
    return {
        process: options.process === undefined ? defaults.process : parseProcess(options.process, 'process'),
        deduplicationInterval: options.deduplicationInterval === undefined ? defaults.deduplicationInterval : parseDuration(options.deduplicationInterval, 'deduplicationInterval', 1, maxStoredDuration),
        maxAttempts: options.maxAttempts === undefined ? defaults.maxAttempts : parseInteger(options.maxAttempts, 'maxAttempts', 1, int32Max),
        backoff: parseBackoff(options.backoff, defaults.backoff),
        // A timer: renewed every third of it.
        lease: options.lease === undefined ? defaults.lease : parseDuration(options.lease, 'lease', 100),
        retention: options.retention === undefined ? defaults.retention : parseDuration(options.retention, 'retention', 0, maxStoredDuration),
        timeout: options.timeout === undefined ? defaults.timeout : parseTimeout(options.timeout),
        flow: parseFlowOptions(options, defaults.flow ?? {}),
        maxMessageSize: options.maxMessageSize === undefined ? defaults.maxMessageSize : parseByteSize(options.maxMessageSize, 'maxMessageSize'),
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

/** `channel`: the options of the channel consumed, whose `maxMessageSize` bounds `prefetchBytes` from below. */
export function parseConsumeOptions(options: BrokerQueueConsumeOptions = {}, channel: BrokerQueueChannelOptionsResolved = defaultChannelOptions): BrokerQueueConsumeOptionsResolved {
    rejectUnknown(options, ['maxParallel', 'prefetch', 'prefetchBytes', 'maxUnsettled', 'database', 'timeout', 'concurrency', 'rateLimit'], 'consume');
    const maxParallel = options.maxParallel === undefined ? 1 : parseInteger(options.maxParallel, 'maxParallel', 1, 10_000);
    return {
        maxParallel,
        prefetch: options.prefetch === undefined ? Math.min(maxParallel, 256) : parseInteger(options.prefetch, 'prefetch', 0, 256),
        adaptivePrefetch: options.prefetch === undefined,
        maxUnsettled: options.maxUnsettled === undefined ? Math.max(maxParallel, defaultMaxUnsettled) : parseInteger(options.maxUnsettled, 'maxUnsettled', 1, 10_000),
        prefetchBytes: options.prefetchBytes === undefined
            ? Math.max(defaultPrefetchBytes, channel.maxMessageSize)
            : parsePrefetchBytes(options.prefetchBytes, channel.maxMessageSize),
        database: options.database,
        timeout: options.timeout === undefined ? undefined : parseTimeout(options.timeout),
        flow: parseFlowOptions(options),
    };
}

function parsePrefetchBytes(value: ByteSize, maxMessageSize: number): number {
    const bytes = parseByteSize(value, 'prefetchBytes', 1, Number.MAX_SAFE_INTEGER);
    if (bytes < maxMessageSize) {
        throw new QueueOptionError(`Option 'prefetchBytes' must be at least the channel's maxMessageSize (${maxMessageSize} bytes), so that the largest message fits; got ${JSON.stringify(value)}`);
    }
    return bytes;
}

/** Delay before the retry that follows failed attempt number `attempt` (1-based). */
export function backoffDelay(backoff: BackoffOptionsResolved, attempt: number): number {
    // factor^attempt overflows to Infinity after enough attempts, and 0 * Infinity is NaN.
    if (backoff.delay === 0) return 0;
    return Math.min(backoff.maxDelay, Math.round(backoff.delay * Math.pow(backoff.factor, Math.max(0, attempt - 1))));
}
