/**
 * The storage contract: everything the queue needs from a database, and
 * nothing more. Logic that is the same for every backend (validation,
 * serialization, retry policy, leases renewal timing, group commit) lives
 * above this file; an adapter holds only what its database does differently.
 *
 * Terminology
 * - message: one stored payload of a channel, with its state.
 * - pending: waiting for delivery; `delayed` when its availability is in the future.
 * - leased: delivered to one consumer until its lease ends or is renewed.
 * - failed: out of attempts or undecodable; kept with its last error (dead letter).
 * - done: processed; kept for the channel's retention, then removed.
 * - consumer: one `consume()` call; it owns the leases it claimed.
 * - schedule: a stored (channel, key) with a message payload and a next run; each
 *   tick enqueues that payload once (src/schedule computes the tick times).
 *
 * Rules every adapter follows (the conformance suite in tests/ checks them):
 * - Every method that changes state is atomic and durable when its promise resolves.
 * - Times are durations in milliseconds; the adapter applies them with its own
 *   clock (the database's clock for a networked database), so hosts with
 *   skewed clocks agree.
 * - Settling a message that is no longer leased to the given consumer changes
 *   nothing (its lease was reclaimed; someone else owns it now).
 * - Attempts: only a delivery whose callback started counts. A claim counts its
 *   delivery provisionally; settling it as done, retry or fail keeps the count,
 *   handing it back (release, reschedule, unregister) undoes it. A lease that is
 *   lost (dead consumer, expired lease) counts only when its start was recorded
 *   (a `'start'` settlement); otherwise nobody knows whether its callback ran,
 *   so the message is delivered again without using an attempt and asks that
 *   its next start be recorded (`recordStart`). Recording every start would cost
 *   a write per message; recording only these keeps the poison guarantee: a
 *   message that kills every worker is lost once unrecorded, then counted on
 *   every loss, so it ends failed after `maxAttempts` starts (2 when that is 1).
 * - Errors are `QueueStorageError` (or a subclass) with a message that says what
 *   to do; no driver error or driver type crosses this contract.
 * - A write rejected for the data of its requests (a value out of range, too large,
 *   a constraint), with nothing written, is `QueueStorageDataError`: the queue then
 *   writes the other requests of a group commit without the rejected one.
 *
 * Deliberately not here: connections, SQL, serialization. Transactions only
 * as the optional `QueueTransactionalStorage` capability at the end of this file.
 */

import { LatencyCounts } from './latency-buckets';

export type MessageId = string;

export interface EnqueueRequest {
    channel: string;
    /** The serialized message. */
    payload: Uint8Array;
    /** Milliseconds from now before delivery. */
    delay: number;
    priority: number;
    maxAttempts: number;
    /** exactlyOnce: skip the insert when `hash` was enqueued on the channel within `interval` ms. */
    deduplication?: { hash: string, interval: number };
    /** Small string metadata stored with the message and returned on claim, e.g. the producer's trace context (`traceparent`). */
    headers?: Record<string, string>;
}

export interface EnqueueResult {
    /** The id of the new message, or of the earlier one it duplicates. */
    id: MessageId;
    deduplicated: boolean;
}

export interface ConsumerRegistration {
    id: string;
    channel: string;
    /** Host identity (host name, boot and pid namespace) and pid let an adapter tell a dead consumer from a slow one. */
    host: string;
    pid: number;
}

export interface ClaimedMessage {
    id: MessageId;
    channel: string;
    payload: Uint8Array;
    /**
     * 1 on first delivery: the deliveries that count (their callback is known to have started), this one
     * included. A delivery lost with its worker before its start was recorded is not among them.
     */
    attempt: number;
    maxAttempts: number;
    priority: number;
    producedAt: Date;
    /**
     * An earlier lease of this message was lost before its start was recorded, so it may be what killed that
     * worker: record this start (a `'start'` settlement, committed) before the callback runs, and run it alone,
     * so that a crash now counts for this message and no other.
     */
    recordStart: boolean;
    /** The tick a schedule enqueued this message for; undefined for produced messages. */
    scheduledAt?: Date;
    /** The request's `headers`, when it had any. */
    headers?: Record<string, string>;
}

export type Settlement =
    /** Processed: remove now, or keep as done for `retention` ms. */
    | { kind: 'done', id: MessageId, consumerId: string, retention: number }
    /** Failed attempt with retries left: pending again after `delay` ms. */
    | { kind: 'retry', id: MessageId, consumerId: string, delay: number, error: string }
    /** Out of attempts or undecodable: kept as failed with `error`. */
    | { kind: 'fail', id: MessageId, consumerId: string, error: string }
    /** Rescheduled by the callback (`message.delay()`): pending after `delay` ms; the delivery does not count as an attempt. */
    | { kind: 'reschedule', id: MessageId, consumerId: string, delay: number }
    /** Claimed but never started (the consumer stopped): pending at once; the delivery does not count, and `recordStart` stays as it was. */
    | { kind: 'release', id: MessageId, consumerId: string }
    /**
     * Not a settlement: the message stays leased. Its callback is about to start; from now on a lost lease
     * counts as an attempt (and fails the message when its attempts are used up). See `recordStart`.
     */
    | { kind: 'start', id: MessageId, consumerId: string };

export interface ChannelStats {
    channel: string;
    /** Available for delivery now. */
    pending: number;
    /** Pending with a future availability. */
    delayed: number;
    inFlight: number;
    failed: number;
    /** Processed messages counted over the last hour (kept or already removed). */
    doneLastHour: number;
    /** Processed per second over the last minute. */
    ratePerSecond: number;
    /** Paused with `setPaused()`: produces are stored, nothing new is delivered. */
    paused: boolean;
}

/**
 * A channel's global flow limits, across every consumer, process and host. Enforced by the
 * adapter inside the claim's transaction, on the database, while it holds the channel's stored
 * row (see src/flow/flow-claim.ts for the shared arithmetic):
 * - `concurrency`: at most this many messages of the channel leased at once (prefetched ones included).
 * - `rate`: at most `max` deliveries claimed per fixed window of `per` ms; a window opens at the
 *   first claim that takes a message after the previous window ended (an empty claim opens none).
 * A channel without limits and not paused has no stored row, and its claim takes no extra lock.
 */
export interface FlowLimits {
    concurrency?: number;
    rate?: { max: number, per: number };
}

export interface FailedMessage {
    id: MessageId;
    channel: string;
    attempt: number;
    maxAttempts: number;
    error: string;
    producedAt: Date;
    failedAt: Date;
    payload: Uint8Array;
}

/** A schedule to create or replace. `spec` and `timing` are opaque text to the adapter, compared for equality only. */
export interface ScheduleUpsert {
    channel: string;
    key: string;
    /** The resolved schedule options, serialized; returned as stored. */
    spec: string;
    /** The part of `spec` that decides tick times (cron, time zone, interval). */
    timing: string;
    /** The serialized message each tick enqueues. */
    payload: Uint8Array;
    maxAttempts: number;
    /**
     * Epoch ms of the first tick, stored for a new schedule or a changed `timing`. Replacing a
     * schedule with the same `timing` keeps its stored next run, so an app that declares its
     * schedules at every start neither skips nor repeats a tick.
     */
    nextRunAt: number;
}

export interface StoredSchedule {
    channel: string;
    key: string;
    spec: string;
    /** Epoch ms. */
    nextRunAt: number;
    /** Epoch ms of the latest tick enqueued; undefined before the first. */
    lastRunAt?: number;
    /** Changes with every write to the schedule; `fireSchedule()` applies only to the revision it names. */
    revision: number;
    /** Epoch ms of the last upsert. */
    updatedAt: number;
}

export interface DueSchedules {
    /** The storage's clock when it looked, epoch ms. */
    now: number;
    /** Schedules whose next run is at or before `now`, earliest first. */
    due: StoredSchedule[];
    /** Ms from `now` to the earliest next run that is not due yet; undefined when there is none. */
    nextIn?: number;
}

export interface ScheduleFire {
    channel: string;
    key: string;
    /** The revision `dueSchedules()` returned: nothing happens when the schedule changed since. */
    revision: number;
    /** Tick times (epoch ms) to enqueue, oldest first: one message each, with the stored payload and `scheduledAt`. May be empty (ticks skipped). */
    ticks: number[];
    /** Epoch ms of the next tick after these. */
    nextRunAt: number;
}

/** What one channel did in one minute, as the storage recorded it (from every process). */
export interface ChannelMinute {
    channel: string;
    /** Start of the minute. */
    minute: Date;
    produced: number;
    /** Processed successfully. */
    done: number;
    /** Kept as failed (out of attempts, undecodable). */
    failed: number;
    /** Made pending again after a failed attempt, or by `retryFailed`. */
    retried: number;
    /** Queue latency of the messages claimed in that minute (see latency-buckets.ts). */
    latency: LatencyCounts;
}

/** Cumulative figures of a channel since its storage was created; never pruned, they only grow. */
export interface ChannelTotals {
    channel: string;
    produced: number;
    done: number;
    failed: number;
    retried: number;
    latency: LatencyCounts;
}

/** A registered consumer (one `consume()` call in some process). */
export interface ConsumerInfo {
    id: string;
    channel: string;
    /** Host name. */
    host: string;
    pid: number;
    /** When it registered. */
    since: Date;
    /** Messages leased to it now. */
    inFlight: number;
}

export type MessageState = 'pending' | 'delayed' | 'leased' | 'failed' | 'done';

/**
 * What `cancel()` did: `'removed'` a pending or delayed message (deleted);
 * `'cancelled'` a leased one (kept as failed with error `cancelledError`);
 * `'not found'` nothing (no such message in the channel, or already done or failed).
 */
export type CancelResult = 'removed' | 'cancelled' | 'not found';

/** The stored error of a message cancelled while leased; the consumer's renewal tells a cancel from a lost lease by it. */
export const cancelledError = 'cancelled';

/**
 * The `watch()` name on which `cancel()` announces, after its commit, that a leased message of
 * `channel` was cancelled (in every process, as for available messages): its consumer then renews
 * at once instead of at its next renewal, sees the lease gone and aborts the callback.
 */
export function cancelWatchChannel(channel: string): string {
    return `${channel}\u001fcancelled`;
}

/** One stored message with its state, for inspection. */
export interface MessageInfo {
    id: MessageId;
    channel: string;
    state: MessageState;
    attempt: number;
    maxAttempts: number;
    priority: number;
    producedAt: Date;
    availableAt: Date;
    /** When it was processed or kept as failed. */
    settledAt?: Date;
    /** The last failed attempt's error. */
    error?: string;
    /** The consumer holding it, while leased. */
    leaseOwner?: string;
    payload: Uint8Array;
    headers?: Record<string, string>;
}

export interface QueueStorage {
    /** Opens connections and migrates the schema. Idempotent; safe when several processes start at once. */
    connect(): Promise<void>;

    /** Releases all resources. Pending work of this process must be settled before. */
    disconnect(): Promise<void>;

    /** Stores all requests in one transaction, in order. Resolves after the commit. */
    enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]>;

    registerConsumer(consumer: ConsumerRegistration): Promise<void>;

    /** Forgets the consumer and makes its remaining leases pending at once. */
    unregisterConsumer(consumerId: string): Promise<void>;

    /**
     * Leases up to `limit` available messages of `channel` to the consumer for
     * `lease` ms, highest priority first, then oldest availability, and counts
     * the delivery provisionally (see Attempts above). Never hands one message
     * to two consumers at once.
     *
     * `maxBytes` bounds the claimed payloads' total size (`payload.byteLength`, summed in claim
     * order): the claim stops before the first message that would bring the total over it. The
     * first message is claimed whatever its size, so a message larger than any budget is still
     * delivered (alone). Without it, sizes do not matter.
     */
    claim(channel: string, consumerId: string, limit: number, lease: number, maxBytes?: number): Promise<ClaimedMessage[]>;

    /**
     * Stores the channel's flow limits (see `FlowLimits`), replacing the stored ones, and returns the
     * limits stored before (`{}` when none). Keeps the paused state and the current rate window.
     * Every claim from then on, in any process, stays within them.
     */
    declareFlow(channel: string, limits: FlowLimits): Promise<FlowLimits>;

    /**
     * Persists the channel's paused state. A paused channel still stores produces; claims return
     * nothing, leases already taken stay and settle as usual. Resuming wakes the channel's
     * consumers in every process (as `watch()` does for new messages).
     */
    setPaused(channel: string, paused: boolean): Promise<void>;

    /** Extends the leases of these messages; returns the ids the consumer no longer owns. */
    renewLeases(consumerId: string, ids: MessageId[], lease: number): Promise<MessageId[]>;

    /**
     * Applies all settlements (start records included) in one transaction; returns the ids that were no
     * longer leased to their consumer. A done, retry or fail also gives back the attempts of earlier leases
     * lost unrecorded: the callback ran to its end, so those losses were not its doing.
     * On a channel with a `concurrency` limit, a settlement that ends a lease wakes the channel's watchers
     * in every process (a slot is free).
     */
    settle(settlements: Settlement[]): Promise<MessageId[]>;

    /**
     * Makes the leases of dead consumers and expired leases pending again.
     * One whose start was recorded counts as an attempt (failed when the
     * attempts are used up); one whose start was not recorded does not, and
     * is claimed with `recordStart` from then on. Returns how many it reclaimed.
     */
    reclaimAbandoned(): Promise<number>;

    /**
     * Milliseconds until the next delayed message of the channel becomes available; undefined when none is delayed.
     * Right after a claim held back by flow control: undefined when paused or every `concurrency` slot is leased
     * (a resume or a settlement of the channel wakes its watchers), the ms until the rate window ends when it is used up.
     */
    nextAvailableIn(channel: string): Promise<number | undefined>;

    /**
     * Calls `listener` (possibly more often than needed) when messages of the
     * channel may have become available, from this or another process.
     * Returns a function that stops it.
     */
    watch(channel: string, listener: () => void): () => void;

    /** Removes expired deduplication records and done messages past their retention. */
    prune(): Promise<void>;

    /** Channels with any message or recent activity, or just the one named. */
    stats(channel?: string): Promise<ChannelStats[]>;

    listFailed(channel: string, options: { limit: number, offset: number }): Promise<FailedMessage[]>;

    /** Makes failed messages pending again with a fresh attempt count; all of the channel's when `ids` is undefined. Returns how many. */
    retryFailed(channel: string, ids?: MessageId[]): Promise<number>;

    /** Deletes the channel's failed messages, or all of its messages. Returns how many. */
    purge(channel: string, which: 'failed' | 'all'): Promise<number>;

    /**
     * Cancels one message of the channel, atomically and durably. Pending or delayed: deleted
     * (`'removed'`). Leased: kept as failed with error `cancelledError` and its lease ended at
     * once (`'cancelled'`), counted as failed; its consumer's later settlement then changes
     * nothing and its next renewal returns it as no longer owned. Done, failed, or not a message
     * of this channel: nothing changes (`'not found'`). A removed message's deduplication record
     * stays: cancelling does not make an exactly-once request enqueueable again. A `'cancelled'`
     * is announced to watchers of `cancelWatchChannel(channel)` after the commit.
     */
    cancel(channel: string, id: MessageId): Promise<CancelResult>;

    /** The storage's clock in epoch ms (the database's for a networked database): schedules compute their first tick from it. */
    clock(): Promise<number>;

    /** Creates or replaces the schedule (channel, key) and returns it as stored; see `ScheduleUpsert.nextRunAt`. Durable. */
    upsertSchedule(schedule: ScheduleUpsert): Promise<StoredSchedule>;

    /** Deletes the schedule; false when there was none. Messages it already enqueued stay. */
    removeSchedule(channel: string, key: string): Promise<boolean>;

    /** All schedules, or the channel's, ordered by channel and key. */
    listSchedules(channel?: string): Promise<StoredSchedule[]>;

    /** Up to `limit` due schedules, with the storage's clock and when the next one is due. Reads only. */
    dueSchedules(limit: number): Promise<DueSchedules>;

    /**
     * In one transaction: when the schedule still has `revision`, enqueues one message per tick
     * (pending now, `scheduledAt` = the tick), sets the next run to `nextRunAt`, the last run to
     * the latest tick, and changes the revision; resolves the new message ids. Resolves undefined
     * and changes nothing when the revision differs (another process fired the tick first, or the
     * schedule was replaced or removed). This compare-and-set, committed together with the
     * messages, is what enqueues each tick exactly once however many processes and hosts fire.
     */
    fireSchedule(fire: ScheduleFire): Promise<MessageId[] | undefined>;
    /**
     * Failed messages of the channel, oldest first, whose id equals `search`, whose
     * error contains it (case-insensitive) or whose payload bytes contain it (so text
     * inside string values matches); all without `search`. `total` counts every match.
     */
    searchFailed(channel: string, options: { search?: string, limit: number, offset: number }): Promise<{ total: number, messages: FailedMessage[] }>;

    /** One message in any state, or undefined when there is none with this id. */
    getMessage(id: MessageId): Promise<MessageInfo | undefined>;

    /** Per channel and minute, oldest first, over the last `since` ms (history is kept for 24 hours). */
    history(options: { since: number, channel?: string }): Promise<ChannelMinute[]>;

    /** Cumulative figures per channel (pruned minutes are carried into them, so they never go back). */
    totals(): Promise<ChannelTotals[]>;

    /** Registered consumers of every process and host, by channel. */
    listConsumers(): Promise<ConsumerInfo[]>;
}

/**
 * Optional capability: the queue's rows written inside a transaction the
 * application opened on the queue's own database (a Deepkit ORM session), so
 * that they commit or roll back together with the application's rows.
 *
 * Sessions and databases are opaque here: an adapter knows the ORM adapters of
 * its own database and rejects any other (another file or database, another
 * kind of database, not a session at all) with `QueueOptionError` before it
 * writes anything.
 */
export interface QueueTransactionalStorage {
    /**
     * True when the database has one writer at a time (SQLite): a write of this
     * process outside an open transaction then waits for it. The queue refuses
     * such writes from inside a transactional consumer callback, which would wait
     * for the callback's own transaction.
     */
    readonly singleWriter: boolean;

    /**
     * Checks that the ORM database (a `@deepkit/orm` `Database`) stores its data
     * where this storage does, and prepares its connections for sharing the
     * database with the queue. Idempotent.
     */
    attachDatabase(database: object): Promise<void>;

    /**
     * The queue's statements inside the transaction of `session` (a
     * `@deepkit/orm` `DatabaseSession` with a transaction), which begins here if
     * it has not yet. Calls for one transaction share one `QueueTransaction`.
     */
    joinTransaction(session: object): Promise<QueueTransaction>;
}

/** The queue's statements inside one application transaction; usable until that transaction ends. */
export interface QueueTransaction {
    /**
     * Stores the requests in the transaction: invisible to consumers until it
     * commits, gone if it rolls back. Consumers are woken once it has committed.
     */
    enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]>;

    /**
     * The first statement of a consumer's transaction: true while the message is
     * still leased to the consumer. An adapter may take locks here that keep the
     * rest of the transaction from failing on what others committed meanwhile.
     */
    holdLease(id: MessageId, consumerId: string): Promise<boolean>;

    /**
     * Writes a `done` or `reschedule` settlement in the transaction. False when
     * the message is no longer leased to the consumer: the caller must then roll
     * the transaction back, since another consumer owns the message now.
     */
    settle(settlement: TransactionalSettlement): Promise<boolean>;
}

/** The settlements a consumer writes inside its transaction; retries and failures are written after its rollback. */
export type TransactionalSettlement = Extract<Settlement, { kind: 'done' | 'reschedule' }>;

export function isTransactionalStorage<S extends QueueStorage>(storage: S): storage is S & QueueTransactionalStorage {
    const candidate = storage as Partial<QueueTransactionalStorage>;
    return typeof candidate.joinTransaction === 'function' && typeof candidate.attachDatabase === 'function';
}
