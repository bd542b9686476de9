import type BetterSqlite3 from 'better-sqlite3';
import { mkdirSync } from 'fs';
import { hostname } from 'os';
import { dirname, resolve } from 'path';
import { Duration, parseDuration } from '../../duration';
import { QueueClosedError, QueueOptionError } from '../../errors';
import { hostIdentity, isProcessAlive, processStartTime } from '../../process-liveness';
import { latencyBucket, latencyBucketCount } from '../../latency-buckets';
import {
    CancelResult, cancelledError, cancelWatchChannel, ChannelMinute, ChannelStats, FlowLimits, ChannelTotals, ClaimedMessage, ConsumerInfo, ConsumerRegistration, DueSchedules, EnqueueRequest, EnqueueResult,
    FailedMessage, MessageId, MessageInfo, QueueTransaction, QueueTransactionalStorage, ScheduleFire, ScheduleUpsert, Settlement, StoredSchedule,
} from '../../storage';
import { QueueStorageAdapter } from '../../storage-adapter';
import {
    channelMinuteFromRow, channelTotalsFromRow, ChannelStatsCollector, claimedMessageFromRow, consumerFromRow, ConsumerRow,
    CountsRow, failedMessageFromRow, FailedMessageRow, likePattern, MessageRow as StoredMessageRow, messageInfoFromRow,
} from '../adapter-rows';
import { migrateSqlite } from './sqlite-schema';
import { prepareSqliteStatements, SqliteStatements } from './sqlite-statements';
import { translateSqliteError } from './sqlite-errors';
import { countMinute, enqueueRows, rowIdPattern, settleRows, toBuffer, toRowId } from './sqlite-operations';
import { SqliteScheduleRow, sqliteScheduleStatements, storedScheduleFromRow } from './sqlite-schedule-statements';
import { SqliteWake } from './sqlite-wake';
import { sqliteDeclareFlow, sqliteFlowClaim, sqliteSetPaused } from './sqlite-flow';
import { FlowWaits } from '../../flow/flow-waits';
import { sqliteWriteGate } from './sqlite-write-gate';
import { SqliteWriteQueue } from './sqlite-write-queue';
import { registerSqliteQueueFile, sqliteFileOf, SqliteQueueFile } from './sqlite-orm-connections';
import { attachSqliteDatabase, joinSqliteTransaction, SqliteTransactionContext } from './sqlite-transaction';

export interface SqliteQueueAdapterOptions {
    /** Database file; missing folders are created. `':memory:'` for one process only. Default `'var/queue.sqlite'`. */
    path?: string;
    /**
     * `'full'` (default): a resolved `produce()` survives power loss and OS crashes.
     * `'normal'`: survives any process crash (kill -9); the last commits may be lost on power loss. Several times faster.
     */
    synchronous?: 'full' | 'normal';
    /** How long a write waits for another process's lock before failing with `QueueStorageBusyError`. Default `'10s'`. */
    busyTimeout?: Duration;
    /**
     * SQLite's page cache of this connection, in MiB. Default 2 (SQLite's own default; better-sqlite3
     * raises it to 16, which a long drain fills). Pages it misses come from the OS file cache.
     */
    cacheSizeMb?: number;
}

export interface SqliteQueueAdapterOptionsResolved {
    path: string;
    synchronous: 'full' | 'normal';
    busyTimeout: number;
    cacheSizeMb: number;
}

export function parseSqliteQueueAdapterOptions(options: SqliteQueueAdapterOptions = {}): SqliteQueueAdapterOptionsResolved {
    const synchronous = options.synchronous ?? 'full';
    if (synchronous !== 'full' && synchronous !== 'normal') {
        throw new QueueOptionError(`Option 'synchronous' must be 'full' or 'normal', got ${JSON.stringify(synchronous)}`);
    }
    const path = options.path ?? 'var/queue.sqlite';
    if (typeof path !== 'string' || !path) throw new QueueOptionError(`Option 'path' must be a file path or ':memory:', got ${JSON.stringify(path)}`);
    const cacheSizeMb = options.cacheSizeMb ?? 2;
    if (typeof cacheSizeMb !== 'number' || !(cacheSizeMb > 0) || !Number.isFinite(cacheSizeMb)) {
        throw new QueueOptionError(`Option 'cacheSizeMb' must be a positive number of MiB, got ${JSON.stringify(cacheSizeMb)}`);
    }
    return { path, synchronous, busyTimeout: parseDuration(options.busyTimeout ?? '10s', 'busyTimeout'), cacheSizeMb };
}

/**
 * WAL pages a commit may leave before it checkpoints them into the database (SQLite's default is 1000, about
 * 4 MB). A checkpoint fsyncs the WAL and the database inside whichever commit crosses the line, a produce or a
 * worker's claim: a stall of several ms, at the default about once per 80 messages (the p99 of delivery
 * latency). At 10,000 it is once per 800 or so; it copies about as many distinct pages, since a queue's pages
 * are rewritten over and over.
 */
const walCheckpointPages = 10_000;
/** After a checkpoint, a WAL that grew larger (a long reader held it back) is truncated to this. */
const walSizeLimit = 64 * 1024 * 1024;
/**
 * A consumer of another host identity that holds no lease and was not seen (a lease renewal) for this long
 * is forgotten by prune(): no process here can check its pid, so nothing else would ever remove it. A live
 * one registers again at its next renewal.
 */
const forgetConsumerAfterMs = 3_600_000;

interface MessageRow {
    /**
     * The id as text, made by SQLite: `String(id)` would go through V8's number-to-string
     * cache, which keeps each id string alive long enough to reach the old generation.
     */
    id: string;
    seq: number;
    channel: string;
    payload: Buffer;
    attempt: number;
    record_start: number;
    max_attempts: number;
    priority: number;
    produced_at: number;
    available_at: number;
    headers: string | null;
}

/**
 * The embedded default: one SQLite file in WAL mode, shared by producers and
 * workers in several processes on one host. Writes are IMMEDIATE
 * transactions; a writer waits for another process's lock on a timer, up to
 * the busy timeout (sqlite-write-queue.ts).
 */
export class SqliteQueueAdapter extends QueueStorageAdapter implements QueueTransactionalStorage {
    readonly options: SqliteQueueAdapterOptionsResolved;
    #db?: BetterSqlite3.Database;
    #statements?: SqliteStatements;
    #writes?: SqliteWriteQueue;
    #file?: SqliteQueueFile;
    protected wake: SqliteWake;
    protected readonly host = hostIdentity();
    /** This process's consumers, registered again when another process forgot them (see prune). */
    protected readonly registrations = new Map<string, ConsumerRegistration>();
    protected readonly flow = new FlowWaits();

    constructor(options: SqliteQueueAdapterOptions = {}) {
        super();
        this.options = parseSqliteQueueAdapterOptions(options);
        const memory = this.options.path === ':memory:';
        this.wake = new SqliteWake(memory ? undefined : resolve(this.options.path) + '-wake');
    }

    async connect(): Promise<void> {
        if (this.#db) return;
        this.guard(() => {
            const memory = this.options.path === ':memory:';
            if (!memory) mkdirSync(dirname(resolve(this.options.path)), { recursive: true });
            const Database: typeof BetterSqlite3 = require('better-sqlite3');
            const db = new Database(this.options.path, { timeout: this.options.busyTimeout });
            try {
                db.pragma('journal_mode = WAL');
                db.pragma(`synchronous = ${this.options.synchronous.toUpperCase()}`);
                db.pragma(`wal_autocheckpoint = ${walCheckpointPages}`);
                db.pragma(`journal_size_limit = ${walSizeLimit}`);
                // Negative: a size in KiB rather than in pages.
                db.pragma(`cache_size = ${-Math.max(1, Math.round(this.options.cacheSizeMb * 1024))}`);
                migrateSqlite(db);
                this.#db = db;
                this.#statements = prepareSqliteStatements(db);
                const gate = memory ? undefined : sqliteWriteGate(this.#queueFile().file);
                this.#writes = new SqliteWriteQueue(db, { ...this.options, closedError: () => this.#closedError() }, gate);
            } catch (error) {
                db.close();
                throw error;
            }
        });
    }

    async disconnect(): Promise<void> {
        await super.disconnect();
        this.wake.close();
        this.registrations.clear();
        const db = this.#db;
        this.#db = undefined;
        this.#statements = undefined;
        this.#writes = undefined;
        db?.close();
    }

    async enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
        const { s } = this.#open();
        const now = Date.now();
        const results = await this.#write(() => enqueueRows(s, requests, now), true);
        this.wake.notify(requests.filter((_, i) => !results[i].deduplicated).map(v => v.channel));
        return results;
    }

    async registerConsumer(consumer: ConsumerRegistration): Promise<void> {
        const { s } = this.#open();
        const now = Date.now();
        await this.#write(() => this.#putConsumer(s, consumer, now), false);
        this.registrations.set(consumer.id, consumer);
    }

    #putConsumer(s: SqliteStatements, consumer: ConsumerRegistration, now: number): void {
        const start = consumer.host === this.host ? processStartTime(consumer.pid) : undefined;
        s.consumerPut.run(consumer.id, consumer.channel, consumer.host, consumer.pid, start ?? null, now, now);
    }

    async unregisterConsumer(consumerId: string): Promise<void> {
        this.registrations.delete(consumerId);
        const { s } = this.#open();
        const channels = await this.#write(() => {
            const released = s.releaseOwner.all(consumerId) as { channel: string }[];
            s.consumerDelete.run(consumerId);
            return released.map(v => v.channel);
        }, false);
        this.wake.notify(channels);
    }

    async claim(channel: string, consumerId: string, limit: number, lease: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<ClaimedMessage[]> {
        const { s } = this.#open();
        const now = Date.now();
        // Look before taking the write lock: an idle poll never blocks writers.
        if (!this.guard(() => s.anyReady.get(channel, now))) return [];
        const { rows, flow, wait } = await this.#write(() => {
            const claimed = sqliteFlowClaim(s, channel, now, limit, take => s.claim.all(consumerId, now + lease, channel, now, take, maxBytes) as MessageRow[]);
            const rows = claimed.rows;
            if (rows.length) {
                const latency = new Array(latencyBucketCount).fill(0);
                let latencySum = 0;
                for (const row of rows) {
                    const waited = Math.max(0, now - row.available_at);
                    latency[latencyBucket(waited)]++;
                    latencySum += waited;
                }
                countMinute(s, channel, now, { latency, latencySum });
            }
            return claimed;
        }, false);
        this.flow.afterClaim(channel, flow, wait);
        rows.sort((a, b) => b.priority - a.priority || a.available_at - b.available_at || a.seq - b.seq);
        return rows.map(claimedMessageFromRow);
    }

    async declareFlow(channel: string, limits: FlowLimits): Promise<FlowLimits> {
        const { s } = this.#open();
        return this.#write(() => sqliteDeclareFlow(s, channel, limits), true);
    }

    async setPaused(channel: string, paused: boolean): Promise<void> {
        const { s } = this.#open();
        await this.#write(() => sqliteSetPaused(s, channel, paused), true);
        if (!paused) this.wake.notify([channel]);
    }

    async renewLeases(consumerId: string, ids: MessageId[], lease: number): Promise<MessageId[]> {
        const { s } = this.#open();
        const now = Date.now();
        return this.#write(() => {
            if (s.consumerSeen.run(now, consumerId).changes === 0) {
                const registration = this.registrations.get(consumerId);
                if (registration) this.#putConsumer(s, registration, now);
            }
            return ids.filter(id => s.renew.run(now + lease, toRowId(id), consumerId).changes === 0);
        }, false);
    }

    async settle(settlements: Settlement[]): Promise<MessageId[]> {
        const { s } = this.#open();
        const now = Date.now();
        const { lost, wakeChannels } = await this.#write(() => settleRows(s, settlements, now), false);
        this.wake.notify([...wakeChannels, ...this.flow.freedChannels(settlements, id => this.registrations.get(id)?.channel)]);
        return lost;
    }

    async reclaimAbandoned(): Promise<number> {
        const { s } = this.#open();
        const now = Date.now();
        const consumers = this.guard(() => s.consumersOfHost.all(this.host) as { id: string, pid: number, process_start: string | null }[]);
        const dead = consumers.filter(v => !isProcessAlive(v.pid, v.process_start));
        // Read first: the common case, nothing to reclaim, takes no write lock.
        if (!dead.length && !this.guard(() => s.anyExpired.get(now))) return 0;
        const channels = await this.#write(() => {
            const channels: string[] = [];
            for (const consumer of dead) {
                const error = `Delivery lost: worker process ${consumer.pid} on ${hostname()} died during the attempt`;
                for (const row of s.reclaimOwner.all(now, error, now, consumer.id) as { channel: string }[]) channels.push(row.channel);
                s.consumerDelete.run(consumer.id);
            }
            for (const row of s.reclaimExpired.all(now, 'Delivery lost: the lease expired before the worker settled it', now, now) as { channel: string }[]) channels.push(row.channel);
            return channels;
        }, false);
        this.wake.notify(channels);
        return channels.length;
    }

    readonly singleWriter = true;

    /**
     * The ORM database must use this adapter's file (see sqlite-orm-connections.ts).
     * Throws at once rather than rejecting: `queueAdapterFor()` calls it synchronously.
     */
    attachDatabase(database: object): Promise<void> {
        attachSqliteDatabase(database, this.#transactionContext());
        return Promise.resolve();
    }

    /** The queue's statements in the session's transaction, on the ORM's connection of this file. */
    async joinTransaction(session: object): Promise<QueueTransaction> {
        return joinSqliteTransaction(session, this.#transactionContext());
    }

    #transactionContext(): SqliteTransactionContext {
        if (this.options.path === ':memory:') throw new QueueOptionError("An in-memory SQLite queue (':memory:') cannot share ORM transactions: give it the ORM database's file");
        return { queue: this.#queueFile(), path: this.options.path, wake: this.wake };
    }

    /** Registered before the first connection of an ORM database can open it: see sqlite-orm-connections.ts. */
    #queueFile(): SqliteQueueFile {
        if (!this.#file) {
            this.#file = { file: sqliteFileOf(this.options.path)!, busyTimeout: this.options.busyTimeout, synchronous: this.options.synchronous };
            registerSqliteQueueFile(this.#file);
        }
        return this.#file;
    }

    async nextAvailableIn(channel: string): Promise<number | undefined> {
        const { s } = this.#open();
        const held = this.flow.heldBack(channel);
        if (held !== 'messages') return held;
        const row = this.guard(() => s.nextAvailable.get(channel) as { at: number | null });
        return row.at === null ? undefined : Math.max(0, row.at - Date.now());
    }

    watch(channel: string, listener: () => void): () => void {
        return this.wake.watch(channel, listener);
    }

    async prune(): Promise<void> {
        const { s } = this.#open();
        const now = Date.now();
        await this.#write(() => {
            s.pruneDedup.run(now);
            s.pruneDone.run(now);
            const oldest = Math.floor(now / 60_000) - 24 * 60;
            s.carryTotals.run(oldest);
            s.pruneThroughput.run(oldest);
            s.pruneConsumers.run(this.host, now - forgetConsumerAfterMs);
        }, false);
    }

    async stats(channel?: string): Promise<ChannelStats[]> {
        const { s } = this.#open();
        const now = Date.now();
        const minute = Math.floor(now / 60_000);
        const rows = this.guard(() => (channel === undefined ? s.statsAll.all(now, now) : s.statsOne.all(now, now, channel)) as any[]);
        const throughput = this.guard(() => (channel === undefined ? s.throughputAll.all(minute - 59) : s.throughputOne.all(minute - 59, channel)) as { channel: string, minute: number, done: number }[]);
        const collector = new ChannelStatsCollector();
        for (const row of rows) Object.assign(collector.entry(row.channel), { pending: row.pending, delayed: row.delayed, inFlight: row.in_flight, failed: row.failed });
        for (const row of this.guard(() => s.pausedChannels.all() as { channel: string }[])) {
            if (channel === undefined || row.channel === channel) collector.entry(row.channel).paused = true;
        }
        // The rate spans the previous full minute and the current partial one.
        const rateSeconds = 60 + (now % 60_000) / 1000;
        for (const row of throughput) {
            const entry = collector.entry(row.channel);
            entry.doneLastHour += row.done;
            if (row.minute >= minute - 1) entry.ratePerSecond += row.done / rateSeconds;
        }
        return collector.result(channel);
    }

    async listFailed(channel: string, options: { limit: number, offset: number }): Promise<FailedMessage[]> {
        const { s } = this.#open();
        const rows = this.guard(() => s.listFailed.all(channel, options.limit, options.offset) as FailedMessageRow[]);
        return rows.map(failedMessageFromRow);
    }

    async retryFailed(channel: string, ids?: MessageId[]): Promise<number> {
        const { s } = this.#open();
        const now = Date.now();
        const changed = await this.#write(() => {
            const changed = ids === undefined
                ? s.retryAllFailed.run(now, channel).changes
                : ids.reduce((sum, id) => sum + s.retryFailed.run(now, channel, toRowId(id)).changes, 0);
            if (changed) countMinute(s, channel, now, { retried: changed });
            return changed;
        }, true);
        if (changed) this.wake.notify([channel]);
        return changed;
    }

    async purge(channel: string, which: 'failed' | 'all'): Promise<number> {
        const { s } = this.#open();
        return this.#write(() => {
            if (which === 'failed') return s.purgeFailed.run(channel).changes;
            s.purgeDedup.run(channel);
            return s.purgeAll.run(channel).changes;
        }, true);
    }

    async cancel(channel: string, id: MessageId): Promise<CancelResult> {
        const { s } = this.#open();
        if (!rowIdPattern.test(String(id))) return 'not found';
        const now = Date.now();
        const result = await this.#write((): CancelResult => {
            if (s.cancelPending.run(channel, Number(id)).changes) return 'removed';
            if (!s.cancelLeased.run(cancelledError, now, channel, Number(id)).changes) return 'not found';
            countMinute(s, channel, now, { failed: 1 });
            return 'cancelled';
        }, true);
        if (result === 'cancelled') this.wake.notify([cancelWatchChannel(channel)]);
        return result;
    }

    async clock(): Promise<number> {
        return Date.now();
    }

    async upsertSchedule(schedule: ScheduleUpsert): Promise<StoredSchedule> {
        const ss = sqliteScheduleStatements(this.#open().db);
        const row = await this.#write(() => ss.upsert.get(
            schedule.channel, schedule.key, schedule.spec, schedule.timing, toBuffer(schedule.payload), schedule.maxAttempts, schedule.nextRunAt, Date.now(),
        ) as SqliteScheduleRow, true);
        return storedScheduleFromRow(row);
    }

    async removeSchedule(channel: string, key: string): Promise<boolean> {
        const ss = sqliteScheduleStatements(this.#open().db);
        return this.#write(() => ss.remove.run(channel, key).changes > 0, true);
    }

    async listSchedules(channel?: string): Promise<StoredSchedule[]> {
        const ss = sqliteScheduleStatements(this.#open().db);
        const rows = this.guard(() => (channel === undefined ? ss.listAll.all() : ss.listOne.all(channel)) as SqliteScheduleRow[]);
        return rows.map(storedScheduleFromRow);
    }

    async dueSchedules(limit: number): Promise<DueSchedules> {
        const ss = sqliteScheduleStatements(this.#open().db);
        const now = Date.now();
        const due = this.guard(() => (ss.due.all(now, limit) as SqliteScheduleRow[]).map(storedScheduleFromRow));
        const next = this.guard(() => ss.nextAfter.get(now) as { at: number | null });
        return { now, due, nextIn: next.at === null ? undefined : next.at - now };
    }

    async fireSchedule(fire: ScheduleFire): Promise<MessageId[] | undefined> {
        const ss = sqliteScheduleStatements(this.#open().db);
        const now = Date.now();
        const latest = fire.ticks.length ? fire.ticks[fire.ticks.length - 1] : null;
        const ids = await this.#write(() => {
            if (!ss.advance.run(fire.nextRunAt, latest, fire.channel, fire.key, fire.revision).changes) return undefined;
            return fire.ticks.map(tick => String(ss.insertTick.run(now, now, tick, fire.channel, fire.key).lastInsertRowid));
        }, true);
        if (ids?.length) this.wake.notify([fire.channel]);
        return ids;
    }

    async searchFailed(channel: string, options: { search?: string, limit: number, offset: number }): Promise<{ total: number, messages: FailedMessage[] }> {
        const { s } = this.#open();
        const search = options.search?.trim();
        if (!search) {
            const total = this.guard(() => (s.countFailed.get(channel) as { n: number }).n);
            return { total, messages: await this.listFailed(channel, options) };
        }
        const id = rowIdPattern.test(search) ? Number(search) : -1;
        const match = [channel, id, likePattern(search), Buffer.from(search, 'utf8')];
        return this.guard(() => ({
            total: (s.searchFailedCount.get(...match) as { n: number }).n,
            messages: (s.searchFailed.all(...match, options.limit, options.offset) as FailedMessageRow[]).map(failedMessageFromRow),
        }));
    }

    async getMessage(id: MessageId): Promise<MessageInfo | undefined> {
        const { s } = this.#open();
        if (!rowIdPattern.test(String(id))) return undefined;
        const row = this.guard(() => s.getMessage.get(Date.now(), Number(id)) as StoredMessageRow | undefined);
        return row && messageInfoFromRow(row);
    }

    async history(options: { since: number, channel?: string }): Promise<ChannelMinute[]> {
        const { s } = this.#open();
        const from = Math.floor((Date.now() - options.since) / 60_000);
        const rows = this.guard(() => (options.channel === undefined ? s.historyAll.all(from) : s.historyOne.all(from, options.channel)) as (CountsRow & { minute: number })[]);
        return rows.map(channelMinuteFromRow);
    }

    async totals(): Promise<ChannelTotals[]> {
        const { s } = this.#open();
        return this.guard(() => s.totals.all() as CountsRow[]).map(channelTotalsFromRow);
    }

    async listConsumers(): Promise<ConsumerInfo[]> {
        const { s } = this.#open();
        return this.guard(() => s.consumers.all() as ConsumerRow[]).map(consumerFromRow);
    }

    /**
     * One write in an IMMEDIATE transaction (shared, when the lock is contended, with the
     * other writes of this process that wait for it: sqlite-write-queue.ts). `durable` commits wait for the configured
     * `synchronous` level; the rest (claims, acks, retries, renewals) never wait
     * for fsync: losing one to a power cut can only roll a message back to an
     * earlier state, so it is delivered again, never lost.
     */
    async #write<R>(operation: () => R, durable: boolean): Promise<R> {
        const writes = this.#writes;
        if (!writes) throw this.#closedError();
        try {
            return await writes.write(operation, durable);
        } catch (error) {
            throw translateSqliteError(error, this.options.path);
        }
    }

    #open() {
        if (!this.#db || !this.#statements) throw this.#closedError();
        return { db: this.#db, s: this.#statements };
    }

    #closedError(): QueueClosedError {
        return new QueueClosedError(`The SQLite queue storage '${this.options.path}' is not connected (call connect(), or it was disconnected)`);
    }

    protected guard<R>(operation: () => R): R {
        try {
            return operation();
        } catch (error) {
            throw translateSqliteError(error, this.options.path);
        }
    }
}
