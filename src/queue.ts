import { ReceiveType, resolveReceiveType, Type } from '@deepkit/type';
import { ConsoleTransport, Logger } from '@deepkit/logger';
import { Batcher } from './batcher';
import { MessageCodec } from './codec';
import { ConsumeCallback, QueueConsumer, QueueLogger } from './consumer';
import { Duration, parseDuration } from './duration';
import { QueueClosedError, QueueOptionError } from './errors';
import { checkMessageSize } from './message-limits';
import { combineInstrumentation, QueueInstrumentation } from './instrumentation';
import { EnqueueFailure, enqueueGroup, enqueueResult } from './group-enqueue';
import {
    BrokerQueueChannelOptions,
    BrokerQueueChannelOptionsResolved,
    BrokerQueueConsumeOptions,
    BrokerQueueProduceOptions,
    defaultChannelOptions,
    parseChannelOptions,
    parseConsumeOptions,
    parseProduceOptions,
} from './options';
import { assertOutsideConsumerTransaction } from './orm/orm-session';
import { QueueOrmDatabase } from './orm/orm-types';
import { TransactionalConsumeCallback, TransactionalQueueConsumer } from './orm/transactional-consumer';
import { CancelResult, ChannelStats, EnqueueRequest, EnqueueResult, FailedMessage, isTransactionalStorage, MessageId, QueueStorage, Settlement } from './storage';
import { QueueSchedules, ScheduleInfo } from './schedule/queue-schedules';
import { ScheduleOptions } from './schedule/schedule-options';

/** `type Release = () => Promise<void>`, as in `@deepkit/broker`. */
export type Release = () => Promise<void>;

export interface BrokerQueueOptions {
    logger?: QueueLogger;
    /** Defaults for every channel of this queue; a channel's own options win. */
    channelDefaults?: BrokerQueueChannelOptions;
    /** Backstop poll for a missed wake-up and longest wait for a delayed message. Default `'1s'`. */
    pollInterval?: Duration;
    /** How often abandoned leases (dead workers, expired leases) are reclaimed while a consumer runs. Default `'1s'`. */
    reclaimInterval?: Duration;
    /** How often expired deduplication records and retained done messages are removed. Default `'1m'`. */
    pruneInterval?: Duration;
    /** Metrics, tracing and profiling hooks (`QueueMetrics`, `QueueTracing`, ...). Default none. */
    instrumentation?: QueueInstrumentation | QueueInstrumentation[];
}

export interface ProduceResult {
    /** The new message's id, or the id of the earlier message it duplicates. */
    id: MessageId;
    /** True when exactlyOnce found the same hash within its interval and nothing was enqueued. */
    deduplicated: boolean;
}

/**
 * A durable queue over one storage adapter. Create typed channels with
 * `channel<T>()`; produce and consume through them.
 */
export class BrokerQueue {
    readonly logger: QueueLogger;
    protected readonly channelDefaults: BrokerQueueChannelOptionsResolved;
    protected readonly pollInterval: number;
    protected readonly reclaimInterval: number;
    protected readonly pruneInterval: number;
    readonly instrumentation?: QueueInstrumentation;
    protected connected?: Promise<void>;
    protected closed = false;
    protected consumers = new Set<QueueConsumer<any>>();
    protected consumerListeners = new Set<(active: number) => void>();
    protected stopping = new Set<Promise<boolean>>();
    protected maintenanceTimers: NodeJS.Timeout[] = [];
    protected readonly enqueueBatcher: Batcher<EnqueueRequest, EnqueueResult | EnqueueFailure>;
    protected readonly settleBatcher: Batcher<Settlement, MessageId | undefined>;
    /** @internal */
    readonly scheduling: QueueSchedules;

    constructor(public readonly adapter: QueueStorage, options: BrokerQueueOptions = {}) {
        this.logger = options.logger ?? new Logger([new ConsoleTransport()]);
        this.channelDefaults = parseChannelOptions(options.channelDefaults, defaultChannelOptions);
        this.pollInterval = parseDuration(options.pollInterval ?? 1000, 'pollInterval', 1);
        this.reclaimInterval = parseDuration(options.reclaimInterval ?? 1000, 'reclaimInterval', 1);
        this.pruneInterval = parseDuration(options.pruneInterval ?? 60_000, 'pruneInterval', 1);
        this.scheduling = new QueueSchedules({ storage: adapter, logger: this.logger, pollInterval: this.pollInterval, connect: () => this.connect() });
        this.instrumentation = combineInstrumentation(Array.isArray(options.instrumentation) ? options.instrumentation : [options.instrumentation]);
        this.enqueueBatcher = new Batcher(async requests => {
            await this.connect();
            return enqueueGroup(this.adapter, requests);
        });
        this.settleBatcher = new Batcher(async settlements => {
            const lost = new Set(await this.adapter.settle(settlements));
            return settlements.map(v => lost.has(v.id) ? v.id : undefined);
        });
    }

    channel<T>(name: string, options?: BrokerQueueChannelOptions, type?: ReceiveType<T>): BrokerQueueChannel<T> {
        // No NUL: PostgreSQL text cannot store it.
        if (typeof name !== 'string' || !name || name.length > 255 || name.includes('\0')) {
            throw new QueueOptionError(`A channel name must be a string of 1 to 255 characters without NUL, got ${JSON.stringify(name)}`);
        }
        return new BrokerQueueChannel<T>(this, name, parseChannelOptions(options, this.channelDefaults), resolveReceiveType(type));
    }

    /** Connects the adapter once (schema migration included). Called on first use; call it early to fail fast. */
    connect(): Promise<void> {
        if (this.closed) return Promise.reject(new QueueClosedError('The queue is closed'));
        if (!this.connected) {
            this.connected = this.adapter.connect();
            this.connected.catch(() => this.connected = undefined);
        }
        return this.connected;
    }

    /** @internal */
    async enqueue(requests: EnqueueRequest[], grouped: boolean): Promise<EnqueueResult[]> {
        if (this.closed) throw new QueueClosedError('The queue is closed; cannot produce');
        assertOutsideConsumerTransaction(this.adapter);
        return this.observeProduce(requests, () => this.store(requests, grouped));
    }

    /** @internal The requests written in the session's transaction (an ORM session of the queue's database). */
    async enqueueInSession(session: object, requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
        if (this.closed) throw new QueueClosedError('The queue is closed; cannot produce');
        return this.observeProduce(requests, async () => {
            await this.connect();
            if (!isTransactionalStorage(this.adapter)) throw new QueueOptionError("Option 'session': this queue's storage adapter cannot join ORM transactions (SqliteQueueAdapter and PostgresQueueAdapter can)");
            return (await this.adapter.joinTransaction(session)).enqueue(requests);
        });
    }

    protected async observeProduce(requests: EnqueueRequest[], store: () => Promise<EnqueueResult[]>): Promise<EnqueueResult[]> {
        const end = this.instrumentation?.produce?.(requests[0].channel, requests);
        if (!end) return store();
        try {
            const results = await store();
            end();
            return results;
        } catch (error) {
            end(error);
            throw error;
        }
    }

    protected async store(requests: EnqueueRequest[], grouped: boolean): Promise<EnqueueResult[]> {
        if (grouped && requests.length === 1) return [enqueueResult(await this.enqueueBatcher.add(requests[0]))];
        await this.connect();
        return this.adapter.enqueue(requests);
    }

    /** @internal */
    async startConsumer<T>(consumer: QueueConsumer<T>): Promise<Release> {
        if (this.closed) throw new QueueClosedError('The queue is closed; cannot consume');
        await this.connect();
        await consumer.start();
        this.consumers.add(consumer);
        this.startMaintenance();
        this.notifyConsumers();
        return async () => {
            await consumer.stop();
            if (!this.consumers.delete(consumer)) return;
            if (!this.consumers.size) this.stopMaintenance();
            this.notifyConsumers();
        };
    }

    /** @internal */
    consumerContext() {
        return { storage: this.adapter, settlements: this.settleBatcher, logger: this.logger, pollInterval: this.pollInterval, instrumentation: this.instrumentation };
    }

    /**
     * Stops every consumer (running callbacks finish), writes what is pending.
     * Returns true when all is settled. With a `timeout`, callbacks still
     * running after it are abandoned: their messages are handed back for
     * redelivery at once, and it returns false.
     */
    async stopConsumers(timeout?: Duration): Promise<boolean> {
        const consumers = [...this.consumers];
        this.consumers.clear();
        this.stopMaintenance();
        const stopping = this.stopAndDrain(consumers, timeout === undefined ? undefined : parseDuration(timeout, 'timeout'));
        this.stopping.add(stopping);
        if (consumers.length) this.notifyConsumers();
        try {
            return await stopping;
        } finally {
            this.stopping.delete(stopping);
        }
    }

    /**
     * Stops consumers, writes what is pending and disconnects the adapter, but
     * stays usable: the next produce, consume or query connects again.
     */
    async disconnect(): Promise<void> {
        await this.stopAll();
        if (!this.connected) return;
        this.connected = undefined;
        await this.adapter.disconnect();
    }

    /** Stops consumers, then disconnects the adapter. The queue cannot be used afterwards. */
    async close(): Promise<void> {
        if (this.closed) return;
        await this.stopAll();
        this.closed = true;
        await this.adapter.disconnect();
    }

    /** Running consumers, plus `runScheduler()` calls not yet released: what keeps a worker process alive. */
    get activeConsumers(): number {
        return this.consumers.size + this.scheduling.runs;
    }

    /** Every schedule, or the channel's: key, options, next and last run. */
    async schedules(channel?: string): Promise<ScheduleInfo[]> {
        return this.scheduling.list(channel);
    }

    /**
     * Fires due schedules in this process until the returned function is called, for a process
     * that runs no consumer (a process with a consumer fires them anyway). Counts as a consumer
     * for `activeConsumers` and the module's shutdown.
     */
    async runScheduler(): Promise<Release> {
        if (this.closed) throw new QueueClosedError('The queue is closed; cannot run the scheduler');
        await this.connect();
        const release = this.scheduling.hold();
        this.notifyConsumers();
        return async () => {
            release();
            this.notifyConsumers();
            if (!this.activeConsumers) await this.scheduling.scheduler.stop();
        };
    }

    /** Calls `listener` with the number of active consumers whenever it changes. Returns a function that stops it. */
    onConsumersChange(listener: (active: number) => void): () => void {
        this.consumerListeners.add(listener);
        return () => this.consumerListeners.delete(listener);
    }

    protected async stopAndDrain(consumers: QueueConsumer<any>[], timeout?: number): Promise<boolean> {
        const stopped = Promise.all(consumers.map(v => v.stop()));
        let finished = true;
        if (timeout === undefined) {
            await stopped;
        } else {
            let timer: NodeJS.Timeout | undefined;
            const expired = new Promise<false>(resolve => timer = setTimeout(() => resolve(false), timeout));
            finished = await Promise.race([stopped.then(() => true as const), expired]);
            clearTimeout(timer);
            if (!finished) await Promise.all(consumers.map(v => v.abandon()));
        }
        await this.enqueueBatcher.drain();
        await this.settleBatcher.drain();
        return finished;
    }

    /** Waits for every stopConsumers() under way, so the adapter is never disconnected under a stopping consumer. */
    protected async stopAll(): Promise<void> {
        await this.stopConsumers();
        await Promise.allSettled([...this.stopping]);
        await this.scheduling.stop();
    }

    protected notifyConsumers(): void {
        for (const listener of this.consumerListeners) listener(this.activeConsumers);
    }

    async stats(channel?: string): Promise<ChannelStats[]> {
        await this.connect();
        return this.adapter.stats(channel);
    }

    async listFailed(channel: string, options: { limit?: number, offset?: number } = {}): Promise<FailedMessage[]> {
        await this.connect();
        return this.adapter.listFailed(channel, { limit: options.limit ?? 100, offset: options.offset ?? 0 });
    }

    /** Makes failed messages of the channel pending again (those named, or all). Returns how many. */
    async retryFailed(channel: string, ids?: MessageId[]): Promise<number> {
        await this.connect();
        return this.adapter.retryFailed(channel, ids);
    }

    /**
     * Stops new deliveries of the channel in every process and host, persisted (until `resume()`).
     * Produces are still stored; running callbacks finish.
     */
    async pause(channel: string): Promise<void> {
        await this.connect();
        await this.adapter.setPaused(channel, true);
    }

    /** Delivers the channel's messages again; idle consumers everywhere are woken at once. */
    async resume(channel: string): Promise<void> {
        await this.connect();
        await this.adapter.setPaused(channel, false);
    }

    async purge(channel: string, which: 'failed' | 'all'): Promise<number> {
        await this.connect();
        return this.adapter.purge(channel, which);
    }

    /**
     * Cancels one message: pending or delayed, it is removed (`'removed'`); running, it is kept
     * as failed with error 'cancelled' at once and its callback's `message.signal` is aborted
     * (`'cancelled'`, reason kind `'cancelled'`) within moments in any process; done, failed or
     * unknown: `'not found'`. See `QueueStorage.cancel`.
     */
    async cancel(channel: string, id: MessageId): Promise<CancelResult> {
        await this.connect();
        return this.adapter.cancel(channel, id);
    }

    protected startMaintenance(): void {
        if (this.maintenanceTimers.length) return;
        const reclaim = setInterval(async () => {
            try {
                const reclaimed = await this.adapter.reclaimAbandoned();
                if (reclaimed) {
                    this.logger.warn(`Queue reclaimed ${reclaimed} message(s) from dead or expired consumers`);
                    for (const consumer of this.consumers) consumer.wake();
                }
            } catch (error) {
                this.logger.error('Queue could not reclaim abandoned messages:', error);
            }
        }, this.reclaimInterval);
        const prune = setInterval(async () => {
            try {
                await this.adapter.prune();
            } catch (error) {
                this.logger.error('Queue could not prune:', error);
            }
        }, this.pruneInterval);
        reclaim.unref();
        prune.unref();
        this.maintenanceTimers.push(reclaim, prune);
        this.scheduling.consumersChanged(true);
    }

    protected stopMaintenance(): void {
        for (const timer of this.maintenanceTimers) clearInterval(timer);
        this.maintenanceTimers = [];
        this.scheduling.consumersChanged(false);
    }
}

/** A typed channel: `produce()` validates and stores `T`, `consume()` delivers `T`. */
export class BrokerQueueChannel<T> {
    protected readonly codec: MessageCodec<T>;

    constructor(
        public readonly queue: BrokerQueue,
        public readonly name: string,
        public readonly options: BrokerQueueChannelOptionsResolved,
        public readonly type: Type,
    ) {
        this.codec = new MessageCodec<T>(name, type);
    }

    /**
     * Validates and stores one message; resolves after the commit. Concurrent
     * calls share a transaction (group commit), each with its own result.
     */
    async produce(data: T, options?: BrokerQueueProduceOptions): Promise<ProduceResult> {
        const request = this.request(data, options);
        const [result] = options?.session !== undefined
            ? await this.queue.enqueueInSession(options.session, [request])
            : await this.queue.enqueue([request], true);
        return result;
    }

    /** Validates all, then stores all in one transaction: all or nothing. */
    async produceMany(list: T[], options?: BrokerQueueProduceOptions): Promise<ProduceResult[]> {
        if (!list.length) return [];
        const requests = list.map(data => this.request(data, options));
        return options?.session !== undefined ? this.queue.enqueueInSession(options.session, requests) : this.queue.enqueue(requests, false);
    }

    /**
     * Delivers messages to `callback` until the returned release function is
     * called. Returns from the callback mark the message done; a throw retries
     * it with backoff, and after `maxAttempts` keeps it as failed.
     */
    async consume<S>(callback: TransactionalConsumeCallback<T, S>, options: BrokerQueueConsumeOptions & { database: QueueOrmDatabase<S> }): Promise<Release>;
    async consume(callback: ConsumeCallback<T>, options?: BrokerQueueConsumeOptions): Promise<Release>;
    async consume(callback: ConsumeCallback<T> | TransactionalConsumeCallback<T>, options?: BrokerQueueConsumeOptions): Promise<Release> {
        if (typeof callback !== 'function') throw new QueueOptionError('consume() needs a callback function');
        const resolved = parseConsumeOptions(options, this.options);
        const consumer = resolved.database !== undefined
            ? new TransactionalQueueConsumer<T>(this.queue.consumerContext(), this.codec, this.options, resolved, callback, resolved.database)
            : new QueueConsumer<T>(this.queue.consumerContext(), this.codec, this.options, resolved, callback as ConsumeCallback<T>);
        return this.queue.startConsumer(consumer);
    }

    /**
     * Creates or replaces (by `key`) a schedule that enqueues `data` on this channel at every
     * tick of `options.cron` or `options.every`, once however many processes run; validated
     * against `T` like `produce()`. Due ticks are fired by any process with a consumer or a
     * `queue.runScheduler()`. Replacing it with the same timing keeps its next run.
     */
    async schedule(key: string, options: ScheduleOptions, data: T): Promise<ScheduleInfo> {
        return this.queue.scheduling.upsert(this.codec, this.options, key, options, data);
    }

    /** Removes the schedule; false when the channel has none by that key. */
    async unschedule(key: string): Promise<boolean> {
        return this.queue.scheduling.remove(this.name, key);
    }

    protected request(data: T, options?: BrokerQueueProduceOptions): EnqueueRequest {
        const resolved = parseProduceOptions(options, this.options);
        const payload = this.codec.encode(data);
        checkMessageSize(this.name, payload, this.options.maxMessageSize);
        const request: EnqueueRequest = {
            channel: this.name,
            payload,
            delay: resolved.delay,
            priority: resolved.priority,
            maxAttempts: this.options.maxAttempts,
        };
        if (resolved.deduplication) {
            request.deduplication = { hash: resolved.deduplication.hash ?? this.codec.hash(payload), interval: resolved.deduplication.interval };
        }
        return request;
    }
}
