import { hostname } from 'os';
import { performance } from 'perf_hooks';
import { Duration, parseDuration } from '../../duration';
import { QueueClosedError, QueueOptionError } from '../../errors';
import {
    CancelResult, cancelledError, cancelWatchChannel, ChannelMinute, ChannelStats, FlowLimits, ChannelTotals, ClaimedMessage, ConsumerInfo, ConsumerRegistration, DueSchedules, EnqueueRequest, EnqueueResult,
    FailedMessage, MessageId, MessageInfo, QueueTransaction, QueueTransactionalStorage, ScheduleFire, ScheduleUpsert, Settlement, StoredSchedule,
} from '../../storage';
import { QueueStorageAdapter } from '../../storage-adapter';
import {
    channelMinuteFromRow, channelTotalsFromRow, ChannelStatsCollector, consumerFromRow,
    failedMessageFromRow, likePattern, messageInfoFromRow,
} from '../adapter-rows';
import { loadPostgresDriver, PostgresPoolClientLike, PostgresPoolLike, PostgresQueryConfig, PostgresQueryResult } from './postgres-driver';
import { isConnectionError, isRetryableConflict, translatePostgresError } from './postgres-errors';
import { BackendIdentity, ListenConnection, PostgresNotify } from './postgres-notify';
import { PostgresClaimRow, unpackClaimedMessages } from './postgres-claimed';
import { postgresEnqueueBatch, toBuffer } from './postgres-enqueue';
import { reconnectDelay, retryWhileUnreachable } from './postgres-retry';
import { migratePostgres } from './postgres-schema';
import { PostgresStatementName, postgresStatements, PostgresStatements } from './postgres-statements';
import { PostgresFlowClaim, postgresFlowClaim, postgresLimitsOf } from './postgres-flow';
import { FlowWaits } from '../../flow/flow-waits';
import { attachPostgresDatabase, identityQuery, joinPostgresTransaction, PostgresTransactionContext } from './postgres-transaction';
import {
    PostgresScheduleRow, PostgresScheduleStatementName, postgresScheduleStatements, storedScheduleFromPostgresRow,
} from './postgres-schedule-statements';

export interface PostgresQueueAdapterOptions {
    /** `postgres://user:password@host:5432/database`. Give this or `pool`. */
    connectionString?: string;
    /**
     * An existing `pg` Pool instead of `connectionString`. The adapter never ends it,
     * and holds one of its connections for LISTEN while consumers run. Give the pool an
     * `'error'` listener: pg emits errors of idle connections there (e.g. on a server restart).
     */
    pool?: PostgresPoolLike;
    /** The schema of the queue's tables, created on first connect. Default `'deepkit_queue'`. */
    schema?: string;
    /** Connections of the adapter's own pool (not with `pool`). Default 10. */
    poolSize?: number;
    /**
     * How long a call waits for a connection, retrying while the server is unreachable or
     * starting up, before it fails with `QueueStorageError`. Default `'10s'`.
     */
    connectTimeout?: Duration;
    /** How long a statement may take before the call fails with `QueueStorageError` instead of waiting on a dead connection. Default `'30s'`. */
    queryTimeout?: Duration;
}

export interface PostgresQueueAdapterOptionsResolved {
    connectionString?: string;
    pool?: PostgresPoolLike;
    schema: string;
    poolSize: number;
    connectTimeout: number;
    queryTimeout: number;
}

const knownOptions = ['connectionString', 'pool', 'schema', 'poolSize', 'connectTimeout', 'queryTimeout'];

export function parsePostgresQueueAdapterOptions(options: PostgresQueueAdapterOptions = {}): PostgresQueueAdapterOptionsResolved {
    for (const key of Object.keys(options)) {
        if (!knownOptions.includes(key)) throw new QueueOptionError(`Unknown PostgreSQL adapter option '${key}'; known options: ${knownOptions.join(', ')}`);
    }
    const { connectionString, pool } = options;
    if ((connectionString === undefined) === (pool === undefined)) {
        throw new QueueOptionError("The PostgreSQL adapter needs exactly one of 'connectionString' (e.g. 'postgres://user@host:5432/db') and 'pool' (a pg Pool)");
    }
    if (connectionString !== undefined && (typeof connectionString !== 'string' || !connectionString)) {
        throw new QueueOptionError(`Option 'connectionString' must be a PostgreSQL URL such as 'postgres://user@host:5432/db', got ${JSON.stringify(connectionString)}`);
    }
    if (pool !== undefined && (typeof pool !== 'object' || typeof pool.connect !== 'function')) {
        throw new QueueOptionError("Option 'pool' must be a pg Pool (an object with connect())");
    }
    const schema = options.schema ?? 'deepkit_queue';
    if (typeof schema !== 'string' || !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
        throw new QueueOptionError(`Option 'schema' must be a lower-case SQL name of at most 63 letters, digits and underscores, got ${JSON.stringify(schema)}`);
    }
    const poolSize = options.poolSize ?? 10;
    if (typeof poolSize !== 'number' || !Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1000) {
        throw new QueueOptionError(`Option 'poolSize' must be an integer from 1 to 1000, got ${JSON.stringify(poolSize)}`);
    }
    return {
        connectionString, pool, schema, poolSize,
        connectTimeout: parseDuration(options.connectTimeout ?? '10s', 'connectTimeout', 1),
        queryTimeout: parseDuration(options.queryTimeout ?? '30s', 'queryTimeout', 1),
    };
}

const conflictRetries = 3;
/** TCP keep-alive after this much idle time instead of the OS default of 2 hours, so a dead peer is found. */
const keepAliveInitialDelayMillis = 5000;
/** How long a claim's answer to nextAvailableIn() is used; a wake-up in between claims again and answers anew. */
const claimAnswerFreshMs = 100;

interface Run {
    /** Safe to run again after a lost connection (reads, idempotent writes). */
    idempotent?: boolean;
}

/**
 * For many hosts on one PostgreSQL database. Every operation is a single
 * statement (atomic without BEGIN/COMMIT); claims use `FOR UPDATE SKIP
 * LOCKED`; wake-ups are `LISTEN/NOTIFY` with a polling backstop above; a
 * consumer's liveness is its process's LISTEN session, so a killed worker is
 * noticed by any host within a reclaim interval. All times come from the
 * database clock.
 */
export class PostgresQueueAdapter extends QueueStorageAdapter implements QueueTransactionalStorage {
    readonly options: PostgresQueueAdapterOptionsResolved;
    protected readonly statements: PostgresStatements & ReturnType<typeof postgresScheduleStatements>;
    protected readonly notify: PostgresNotify;
    /** This process's consumers, registered again when the LISTEN session is replaced. */
    protected readonly consumers = new Map<string, ConsumerRegistration>();
    protected readonly target: string;
    /** Per channel, the next availability a short claim reported, for the nextAvailableIn() that follows it. */
    protected readonly nextAfterClaim = new Map<string, { ms: number | null, at: number }>();
    /** Channels whose last claim found a flow row: their claims go straight to the flow path. */
    protected readonly flowChannels = new Set<string>();
    protected readonly flow = new FlowWaits();
    #pool?: PostgresPoolLike;
    #connecting?: Promise<void>;
    #transactionContext?: PostgresTransactionContext;
    #identity?: Promise<string>;

    constructor(options: PostgresQueueAdapterOptions) {
        super();
        this.options = parsePostgresQueueAdapterOptions(options);
        this.statements = { ...postgresStatements(this.options.schema), ...postgresScheduleStatements(this.options.schema) };
        this.target = describeTarget(this.options.connectionString);
        this.notify = new PostgresNotify(() => this.openListenConnection(), this.options.schema, this.options.queryTimeout, identity => this.reregister(identity));
    }

    async connect(): Promise<void> {
        if (this.#pool) return;
        this.#connecting ??= this.open().finally(() => this.#connecting = undefined);
        return this.#connecting;
    }

    async disconnect(): Promise<void> {
        // First: consumers started through @deepkit/broker finish while the pool is still open.
        await super.disconnect();
        await this.#connecting?.catch(() => undefined);
        const pool = this.#pool;
        this.#pool = undefined;
        this.consumers.clear();
        await this.notify.close();
        if (pool && !this.options.pool) await pool.end();
    }

    async enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
        const batch = postgresEnqueueBatch(requests);
        const { results, channels } = batch.resolve((await this.run('enqueue', batch.values)).rows);
        this.notify.notifyLocal(channels);
        return results;
    }

    async registerConsumer(consumer: ConsumerRegistration): Promise<void> {
        this.#open();
        const identity = await this.listenSession();
        this.consumers.set(consumer.id, consumer);
        await this.run('registerConsumers', [[consumer.id], [consumer.channel], [consumer.host], [consumer.pid], identity.pid, identity.start], { idempotent: true });
    }

    /** The LISTEN session's identity; while the server is unreachable or restarting, retries until `connectTimeout`. */
    protected async listenSession(): Promise<BackendIdentity> {
        try {
            return await retryWhileUnreachable(this.options.connectTimeout, () => this.notify.ensure());
        } catch (error) {
            throw translatePostgresError(error, { target: this.target, sent: false, write: true });
        }
    }

    async unregisterConsumer(consumerId: string): Promise<void> {
        this.consumers.delete(consumerId);
        await this.run('unregister', [consumerId], { idempotent: true });
    }

    async claim(channel: string, consumerId: string, limit: number, lease: number, maxBytes = Number.MAX_SAFE_INTEGER): Promise<ClaimedMessage[]> {
        let found: PostgresClaimRow | undefined;
        // The fast path claims nothing for a channel with a flow row (limits or paused): it says so, and the flow path claims.
        if (!this.flowChannels.has(channel)) {
            const row: PostgresClaimRow = (await this.run('claim', [channel, limit, consumerId, lease, false, maxBytes])).rows[0];
            if (row.flow) this.flowChannels.add(channel);
            else found = row;
        }
        if (!found) {
            const claimed = await this.claimInFlow(channel, consumerId, limit, lease, maxBytes);
            if (!claimed.flow) this.flowChannels.delete(channel);
            this.flow.afterClaim(channel, claimed.flow, claimed.wait);
            found = claimed.row;
        }
        // No row: the flow's limits left no room, nothing was asked of the messages.
        const count = found?.claimed ?? 0;
        if (count < limit) this.nextAfterClaim.set(channel, { ms: found?.next_ms ?? null, at: performance.now() });
        else this.nextAfterClaim.delete(channel);
        return unpackClaimedMessages(found?.messages ?? null, count, channel);
    }

    protected async claimInFlow(channel: string, consumerId: string, limit: number, lease: number, maxBytes: number): Promise<PostgresFlowClaim> {
        const client = await this.acquire(this.#open());
        try {
            const result = await postgresFlowClaim(client, this.statements, this.options.queryTimeout, channel, consumerId, limit, lease, maxBytes);
            client.release();
            return result;
        } catch (error) {
            client.release(isConnectionError(error));
            throw translatePostgresError(error, { target: this.target, sent: true, write: true });
        }
    }

    async declareFlow(channel: string, limits: FlowLimits): Promise<FlowLimits> {
        const result = await this.run('flowDeclare', [channel, limits.concurrency ?? null, limits.rate?.max ?? null, limits.rate?.per ?? null]);
        this.flowChannels.delete(channel);
        return postgresLimitsOf(result.rows[0]);
    }

    async setPaused(channel: string, paused: boolean): Promise<void> {
        await this.run('flowPause', [channel, paused], { idempotent: true });
        this.flowChannels.delete(channel);
        if (!paused) this.notify.notifyLocal([channel]);
    }

    async renewLeases(consumerId: string, ids: MessageId[], lease: number): Promise<MessageId[]> {
        const result = await this.run('renew', [consumerId, ids.map(toRowId), lease], { idempotent: true });
        const { known, renewed } = result.rows[0] as { known: boolean, renewed: string[] };
        // Another host took this live consumer for dead (e.g. while its LISTEN session reconnected): register it again.
        const registration = this.consumers.get(consumerId);
        if (!known && registration && this.notify.connected) await this.registerConsumer(registration);
        const kept = new Set(renewed);
        return ids.filter(id => !kept.has(id));
    }

    async settle(settlements: Settlement[]): Promise<MessageId[]> {
        const result = await this.run('settle', [
            settlements.map(v => toRowId(v.id)),
            // One element when all are alike (the usual batch of one consumer): the statement pads it.
            sameOrEach(settlements, v => v.consumerId),
            sameOrEach(settlements, v => v.kind),
            sameOrEach(settlements, v => v.kind === 'done' ? v.retention : v.kind === 'retry' || v.kind === 'reschedule' ? v.delay : 0),
            settlements.some(v => v.kind === 'retry' || v.kind === 'fail') ? settlements.map(v => v.kind === 'retry' || v.kind === 'fail' ? v.error : null) : [],
        ]);
        const lost: string[] | null = result.rows[0].lost;
        // Usually none: no set of every id.
        const lostSet = lost?.length ? new Set(lost) : undefined;
        const settled = (v: Settlement) => !lostSet?.has(v.id);
        const woken: string[] = [];
        for (const v of settlements) {
            if ((v.kind === 'retry' || v.kind === 'reschedule' || v.kind === 'release') && settled(v)) {
                const channel = this.consumers.get(v.consumerId)?.channel;
                if (channel !== undefined) woken.push(channel);
            }
        }
        const freed = this.flow.freedChannels(settlements, id => this.consumers.get(id)?.channel);
        if (woken.length || freed.length) this.notify.notifyLocal([...woken, ...freed]);
        return lostSet ? settlements.filter(v => !settled(v)).map(v => v.id) : [];
    }

    async reclaimAbandoned(): Promise<number> {
        // While our LISTEN session reconnects our consumers look dead to the database; we know they are not.
        const spared = this.notify.connected ? [] : [...this.consumers.keys()];
        const result = await this.run('reclaim', [spared], { idempotent: true });
        return result.rows[0]?.reclaimed ?? 0;
    }

    async nextAvailableIn(channel: string): Promise<number | undefined> {
        const held = this.flow.heldBack(channel);
        if (held !== 'messages') {
            this.nextAfterClaim.delete(channel);
            return held;
        }
        // The consumer asks right after a claim that came back short, which answered it already.
        const known = this.nextAfterClaim.get(channel);
        this.nextAfterClaim.delete(channel);
        const elapsed = known ? performance.now() - known.at : Infinity;
        if (known && elapsed < claimAnswerFreshMs) return known.ms === null ? undefined : Math.max(0, Math.ceil(known.ms - elapsed));
        const result = await this.run('nextAvailable', [channel], { idempotent: true });
        const ms = result.rows[0]?.ms;
        return ms === null || ms === undefined ? undefined : Math.max(0, Math.ceil(ms));
    }

    watch(channel: string, listener: () => void): () => void {
        return this.notify.watch(channel, listener);
    }

    async prune(): Promise<void> {
        await this.run('prune', [], { idempotent: true });
    }

    async stats(channel?: string): Promise<ChannelStats[]> {
        const counts = await this.run('statsCounts', [channel ?? null], { idempotent: true });
        const throughput = await this.run('statsThroughput', [channel ?? null], { idempotent: true });
        const collector = new ChannelStatsCollector();
        for (const row of counts.rows) Object.assign(collector.entry(row.channel), { pending: row.pending, delayed: row.delayed, inFlight: row.in_flight, failed: row.failed });
        for (const row of throughput.rows) Object.assign(collector.entry(row.channel), { doneLastHour: row.done_last_hour, ratePerSecond: row.rate });
        for (const row of (await this.run('pausedChannels', [channel ?? null], { idempotent: true })).rows) collector.entry(row.channel).paused = true;
        return collector.result(channel);
    }

    async listFailed(channel: string, options: { limit: number, offset: number }): Promise<FailedMessage[]> {
        const result = await this.run('listFailed', [channel, options.limit, options.offset], { idempotent: true });
        return result.rows.map(failedMessageFromRow);
    }

    async retryFailed(channel: string, ids?: MessageId[]): Promise<number> {
        const result = await this.run('retryFailed', [channel, ids === undefined ? null : ids.map(toRowId)]);
        const changed: number = result.rows[0].n;
        if (changed) this.notify.notifyLocal([channel]);
        return changed;
    }

    async purge(channel: string, which: 'failed' | 'all'): Promise<number> {
        if (which !== 'failed' && which !== 'all') throw new QueueOptionError(`purge() takes 'failed' or 'all', got ${JSON.stringify(which)}`);
        const result = await this.run('purge', [channel, which]);
        return result.rows[0].n;
    }

    async cancel(channel: string, id: MessageId): Promise<CancelResult> {
        if (typeof id !== 'string' || !/^[1-9][0-9]{0,17}$/.test(id)) return 'not found';
        const result = await this.run('cancel', [channel, id, cancelledError, cancelWatchChannel(channel)]);
        const outcome: CancelResult = result.rows[0].result;
        if (outcome === 'cancelled') this.notify.notifyLocal([cancelWatchChannel(channel)]);
        return outcome;
    }

    readonly singleWriter = false;

    /** The ORM database must be this adapter's database (checked on one of its connections). */
    async attachDatabase(database: object): Promise<void> {
        await attachPostgresDatabase(database, this.transactionContext());
    }

    /** The queue's statements on the session's connection, inside its transaction. */
    async joinTransaction(session: object): Promise<QueueTransaction> {
        return joinPostgresTransaction(session, this.transactionContext());
    }

    protected transactionContext(): PostgresTransactionContext {
        this.#open();
        return this.#transactionContext ??= {
            schema: this.options.schema,
            target: this.target,
            queryTimeout: this.options.queryTimeout,
            notifyLocal: channels => this.notify.notifyLocal(channels),
            ownIdentity: refresh => {
                if (refresh || !this.#identity) {
                    this.#identity = this.query(identityQuery(this.options.schema)).then(result => result.rows[0].identity as string);
                    this.#identity.catch(() => this.#identity = undefined);
                }
                return this.#identity;
            },
        };
    }

    /** One statement on a pooled connection, not from the statement set (the ORM support's own). */
    protected async query(config: PostgresQueryConfig): Promise<PostgresQueryResult> {
        const client = await this.acquire(this.#open());
        try {
            const result = await client.query({ ...config, query_timeout: this.options.queryTimeout });
            client.release();
            return result;
        } catch (error) {
            client.release(isConnectionError(error));
            throw translatePostgresError(error, { target: this.target, sent: true, write: false });
        }
    }

    async clock(): Promise<number> {
        const result = await this.run('clock', [], { idempotent: true });
        return Math.round(result.rows[0].now);
    }

    async upsertSchedule(schedule: ScheduleUpsert): Promise<StoredSchedule> {
        // Idempotent: the same upsert again leaves the same schedule (only its revision moves on).
        const result = await this.run('upsertSchedule', [
            schedule.channel, schedule.key, schedule.spec, schedule.timing, toBuffer(schedule.payload), schedule.maxAttempts, schedule.nextRunAt,
        ], { idempotent: true });
        return storedScheduleFromPostgresRow(result.rows[0]);
    }

    async removeSchedule(channel: string, key: string): Promise<boolean> {
        const result = await this.run('removeSchedule', [channel, key]);
        return (result.rowCount ?? 0) > 0;
    }

    async listSchedules(channel?: string): Promise<StoredSchedule[]> {
        const result = await this.run('listSchedules', [channel ?? null], { idempotent: true });
        return result.rows.map(storedScheduleFromPostgresRow);
    }

    async dueSchedules(limit: number): Promise<DueSchedules> {
        const result = await this.run('dueSchedules', [limit], { idempotent: true });
        const first = result.rows[0];
        const due = result.rows.filter(row => row.channel !== null).map(row => storedScheduleFromPostgresRow(row as PostgresScheduleRow));
        return { now: Math.round(first.now), due, nextIn: first.next_at === null ? undefined : first.next_at - first.now };
    }

    async fireSchedule(fire: ScheduleFire): Promise<MessageId[] | undefined> {
        // Not retried after a lost connection: the revision tells whether it committed, and the next round reads it.
        const result = await this.run('fireSchedule', [fire.channel, fire.key, fire.revision, fire.nextRunAt, fire.ticks]);
        const { won, ids } = result.rows[0] as { won: boolean, ids: string[] };
        if (!won) return undefined;
        if (ids.length) this.notify.notifyLocal([fire.channel]);
        return ids;
    }

    async searchFailed(channel: string, options: { search?: string, limit: number, offset: number }): Promise<{ total: number, messages: FailedMessage[] }> {
        const search = options.search?.trim() || null;
        const id = search !== null && /^[1-9][0-9]{0,17}$/.test(search) ? search : null;
        const match = [channel, search, id, search === null ? null : likePattern(search), search === null ? null : Buffer.from(search, 'utf8')];
        const count = await this.run('searchFailedCount', match, { idempotent: true });
        const rows = await this.run('searchFailed', [...match, options.limit, options.offset], { idempotent: true });
        return { total: count.rows[0].n, messages: rows.rows.map(failedMessageFromRow) };
    }

    async getMessage(id: MessageId): Promise<MessageInfo | undefined> {
        if (typeof id !== 'string' || !/^[1-9][0-9]{0,17}$/.test(id)) return undefined;
        const result = await this.run('getMessage', [id], { idempotent: true });
        return result.rows[0] && messageInfoFromRow(result.rows[0]);
    }

    async history(options: { since: number, channel?: string }): Promise<ChannelMinute[]> {
        const result = await this.run('history', [options.since, options.channel ?? null], { idempotent: true });
        return result.rows.map(channelMinuteFromRow);
    }

    async totals(): Promise<ChannelTotals[]> {
        const result = await this.run('totals', [], { idempotent: true });
        return result.rows.map(channelTotalsFromRow);
    }

    async listConsumers(): Promise<ConsumerInfo[]> {
        const result = await this.run('consumers', [], { idempotent: true });
        return result.rows.map(consumerFromRow);
    }

    protected async open(): Promise<void> {
        const pool = this.options.pool ?? this.createPool();
        try {
            // The migration runs in one transaction: a connection lost meanwhile (the server shutting down: 57P01)
            // changed nothing, so it runs again on a new connection until connectTimeout.
            await retryWhileUnreachable(this.options.connectTimeout, async () => {
                const client = await this.acquire(pool);
                try {
                    await migratePostgres(client, this.options.schema);
                    client.release();
                } catch (error) {
                    client.release(true);
                    throw error;
                }
            });
        } catch (error) {
            if (!this.options.pool) await pool.end().catch(() => undefined);
            throw translatePostgresError(error, { target: this.target, sent: true, write: true });
        }
        this.#pool = pool;
    }

    protected createPool(): PostgresPoolLike {
        const pg = loadPostgresDriver();
        const pool = new pg.Pool({
            connectionString: this.options.connectionString!,
            max: this.options.poolSize,
            connectionTimeoutMillis: this.options.connectTimeout,
            keepAlive: true,
            keepAliveInitialDelayMillis,
            application_name: 'deepkit-broker-queue',
        });
        // pg reports errors of idle connections here (a server restart); the pool drops them and connects anew on the next call.
        pool.on('error', () => undefined);
        return pool;
    }

    protected async openListenConnection(): Promise<ListenConnection> {
        const pool = this.#open();
        if (this.options.pool) {
            const client = await this.acquire(pool);
            return { client, close: async broken => client.release(broken) };
        }
        const pg = loadPostgresDriver();
        const client = new pg.Client({
            connectionString: this.options.connectionString!,
            connectionTimeoutMillis: this.options.connectTimeout,
            keepAlive: true,
            keepAliveInitialDelayMillis,
            application_name: 'deepkit-broker-queue listen',
        });
        // Attached before connecting: an 'error' event without a listener would crash the process.
        client.on('error', () => undefined);
        await client.connect();
        return { client, close: () => client.end() };
    }

    /** A pooled connection; while the server is unreachable or starting up, retries until `connectTimeout`. */
    protected async acquire(pool: PostgresPoolLike): Promise<PostgresPoolClientLike> {
        let client: PostgresPoolClientLike;
        try {
            client = await retryWhileUnreachable(this.options.connectTimeout, () => pool.connect());
        } catch (error) {
            throw translatePostgresError(error, { target: this.target, sent: false, write: true });
        }
        // pg-pool listens for errors of idle connections only: a connection that dies while we
        // use it emits 'error' besides failing the query, which without a listener crashes the process.
        if (!guarded.has(client)) {
            guarded.add(client);
            client.on('error', ignore);
        }
        return client;
    }

    /**
     * Runs one named statement. A lost connection destroys the pooled
     * connection; the statement runs again only when nothing can have happened
     * (no connection yet, a rolled-back conflict) or it is idempotent: then on a
     * new connection, as long as `connectTimeout` has not passed since the first
     * try (a server restart kills every pooled connection, and the first new
     * ones may meet it still shutting down), and at least once.
     */
    protected async run(statement: PostgresStatementName | PostgresScheduleStatementName, values: unknown[], options: Run = {}): Promise<PostgresQueryResult> {
        const pool = this.#open();
        const { name, text } = this.statements[statement];
        const deadline = Date.now() + this.options.connectTimeout;
        for (let attempt = 0; ; attempt++) {
            const client = await this.acquire(pool);
            try {
                const result = await client.query({ name, text, values, query_timeout: this.options.queryTimeout });
                client.release();
                return result;
            } catch (error) {
                const broken = isConnectionError(error);
                client.release(broken);
                const again = broken ? options.idempotent && (attempt === 0 || Date.now() < deadline) : isRetryableConflict(error) && attempt < conflictRetries;
                if (!again) throw translatePostgresError(error, { target: this.target, sent: true, write: !options.idempotent });
                if (broken && attempt > 0) await new Promise(resolve => setTimeout(resolve, reconnectDelay(attempt - 1)));
            }
        }
    }

    protected async reregister(identity: BackendIdentity): Promise<void> {
        const consumers = [...this.consumers.values()];
        if (!consumers.length || !this.#pool) return;
        try {
            await this.run('registerConsumers', [
                consumers.map(v => v.id), consumers.map(v => v.channel), consumers.map(v => v.host), consumers.map(v => v.pid),
                identity.pid, identity.start,
            ], { idempotent: true });
        } catch {
            // The next lease renewal registers them again (see renewLeases).
        }
    }

    #open(): PostgresPoolLike {
        if (!this.#pool) throw new QueueClosedError(`The PostgreSQL queue storage (${this.target}) is not connected (call connect(), or it was disconnected)`);
        return this.#pool;
    }
}

/**
 * `[value]` when every item has the same value, else each item's. The settle statement's parameters
 * were mostly the same consumer id repeated (37 of about 55 bytes per message), and the size of what a
 * settle sends decided how much of a draining worker's young generation survived into the old one.
 */
function sameOrEach<T, V>(items: T[], value: (item: T) => V): V[] {
    const first = value(items[0]);
    for (let i = 1; i < items.length; i++) {
        if (value(items[i]) !== first) return items.map(value);
    }
    return [first];
}

const guarded = new WeakSet<object>();
const ignore = () => undefined;

/** `host:port/database` for messages; never the password. */
function describeTarget(connectionString?: string): string {
    if (connectionString === undefined) return 'the given pool';
    try {
        const url = new URL(connectionString);
        return `${url.hostname || 'localhost'}:${url.port || 5432}${url.pathname}`;
    } catch {
        return 'the configured server';
    }
}

function toRowId(id: MessageId): string {
    // Equal-length decimals compare as strings: no BigInt per id of every settlement.
    if (typeof id !== 'string' || !/^[1-9][0-9]{0,18}$/.test(id) || (id.length === 19 && id > '9223372036854775807')) {
        throw new QueueOptionError(`Invalid message id ${JSON.stringify(id)}: PostgreSQL message ids are positive 64-bit integers`);
    }
    return id;
}
