import { randomUUID } from 'crypto';
import { performance } from 'perf_hooks';
import { Batcher } from './batcher';
import { MessageCodec } from './codec';
import { QueueDecodeError } from './errors';
import { BrokerQueueMessage } from './message';
import { hostIdentity } from './process-liveness';
import { backoffDelay, BrokerQueueChannelOptionsResolved, BrokerQueueConsumeOptionsResolved } from './options';
import { ClaimedMessage, MessageId, QueueStorage, Settlement } from './storage';

/** The adaptive prefetch leases about this much work ahead, and never more than `maxPrefetch` messages. */
const prefetchWindowMs = 20;
const maxPrefetch = 256;

export type ConsumeCallback<T> = (data: T, message: BrokerQueueMessage<T>) => Promise<void> | void;

export interface QueueLogger {
    error(...message: any[]): void;
    warn(...message: any[]): void;
    log(...message: any[]): void;
    debug(...message: any[]): void;
}

export interface ConsumerContext {
    storage: QueueStorage;
    settlements: Batcher<Settlement, MessageId | undefined>;
    logger: QueueLogger;
    /** Backstop for a missed wake-up, and the longest wait for a delayed message. */
    pollInterval: number;
}

/**
 * One `consume()` call: claims messages (leases), runs the callback with at
 * most `maxParallel` at once, renews leases while callbacks run, and settles
 * each message as done, retry, failed or rescheduled.
 */
export class QueueConsumer<T> {
    readonly id = randomUUID();
    protected running = new Set<MessageId>();
    protected buffer: ClaimedMessage[] = [];
    protected stopped = false;
    protected fetching = false;
    protected fetchScheduled = false;
    protected wanted = false;
    /**
     * The last claim got fewer than it asked for: nothing more was available then. Until a wake-up
     * (watch, poll timer, reclaim) says otherwise, a finished callback does not claim again.
     */
    protected drained = false;
    protected idle = Promise.resolve();
    protected idleResolve?: () => void;
    protected pollTimer?: NodeJS.Timeout;
    protected renewTimer?: NodeJS.Timeout;
    protected unwatch?: () => void;
    /** Moving average of callback durations, for the adaptive prefetch. */
    protected averageCallbackMs?: number;

    constructor(
        protected readonly context: ConsumerContext,
        protected readonly codec: MessageCodec<T>,
        protected readonly channelOptions: BrokerQueueChannelOptionsResolved,
        protected readonly options: BrokerQueueConsumeOptionsResolved,
        protected readonly callback: ConsumeCallback<T>,
    ) {
    }

    get channel(): string {
        return this.codec.channel;
    }

    async start(): Promise<void> {
        await this.context.storage.registerConsumer({ id: this.id, channel: this.channel, host: hostIdentity(), pid: process.pid });
        this.unwatch = this.context.storage.watch(this.channel, () => this.wake());
        this.renewTimer = setInterval(() => this.renew(), Math.max(50, Math.floor(this.channelOptions.lease / 3)));
        this.renewTimer.unref();
        this.wake();
    }

    /** Stops claiming, waits for running callbacks, hands back unstarted messages and forgets the consumer. */
    async stop(): Promise<void> {
        if (this.stopped) return;
        this.stopped = true;
        this.unwatch?.();
        clearTimeout(this.pollTimer);
        while (this.fetching || this.running.size) await this.waitForIdle();
        clearInterval(this.renewTimer);
        const unstarted = this.buffer.splice(0);
        for (const message of unstarted) void this.settle({ kind: 'release', id: message.id, consumerId: this.id });
        await this.context.settlements.drain();
        await this.context.storage.unregisterConsumer(this.id);
    }

    /**
     * Gives up without waiting for running callbacks (shutdown timeout): the
     * consumer is forgotten and all its leases, running or not, are pending
     * again at once. A callback that still finishes later settles nothing.
     */
    async abandon(): Promise<void> {
        this.stopped = true;
        this.unwatch?.();
        clearTimeout(this.pollTimer);
        clearInterval(this.renewTimer);
        const running = [...this.running];
        this.buffer = [];
        this.context.logger.warn(`Queue consumer of channel '${this.channel}' abandoned ${running.length} running callback(s) (${running.join(', ')}); their messages are delivered again.`);
        await this.context.storage.unregisterConsumer(this.id);
    }

    /** Something may be available: claim as soon as there is room. */
    wake(): void {
        if (this.stopped) return;
        this.wanted = true;
        this.drained = false;
        if (this.fetching || this.fetchScheduled) return;
        // Claim in a later turn of the event loop, never inside the promise chain of
        // the callbacks: a synchronous storage and fast callbacks would otherwise
        // starve timers and I/O, and settlements would pile up unwritten.
        this.fetchScheduled = true;
        setImmediate(() => {
            this.fetchScheduled = false;
            void this.fetch();
        });
    }

    protected waitForIdle(): Promise<void> {
        if (!this.idleResolve) this.idle = new Promise(resolve => this.idleResolve = resolve);
        return this.idle;
    }

    protected notifyIdle(): void {
        const resolve = this.idleResolve;
        this.idleResolve = undefined;
        resolve?.();
    }

    protected prefetch(): number {
        if (!this.options.adaptivePrefetch || this.averageCallbackMs === undefined) return this.options.prefetch;
        const perWindow = Math.floor(prefetchWindowMs * this.options.maxParallel / Math.max(this.averageCallbackMs, 0.01));
        return Math.max(this.options.prefetch, Math.min(maxPrefetch, perWindow));
    }

    protected capacity(): number {
        return this.options.maxParallel + this.prefetch() - this.running.size - this.buffer.length;
    }

    protected async fetch(): Promise<void> {
        this.fetching = true;
        try {
            while (this.wanted && !this.stopped) {
                this.wanted = false;
                const limit = this.capacity();
                if (limit <= 0) break;
                const claimed = await this.context.storage.claim(this.channel, this.id, limit, this.channelOptions.lease);
                if (this.stopped) {
                    this.buffer.push(...claimed);
                    break;
                }
                this.buffer.push(...claimed);
                this.startBuffered();
                // A full batch means more may be waiting: claim again once a slot frees up.
                if (claimed.length === limit) this.wanted = true;
                else if (!this.wanted) {
                    this.drained = true;
                    await this.scheduleNextPoll();
                }
            }
        } catch (error) {
            this.context.logger.error(`Queue consumer of channel '${this.channel}' could not claim messages; retrying in ${this.context.pollInterval}ms:`, error);
            this.schedulePoll(this.context.pollInterval);
        } finally {
            this.fetching = false;
            this.notifyIdle();
        }
    }

    protected async scheduleNextPoll(): Promise<void> {
        const next = await this.context.storage.nextAvailableIn(this.channel);
        this.schedulePoll(next === undefined ? this.context.pollInterval : Math.min(this.context.pollInterval, next));
    }

    protected schedulePoll(delay: number): void {
        if (this.stopped) return;
        clearTimeout(this.pollTimer);
        this.pollTimer = setTimeout(() => this.wake(), Math.max(1, delay));
    }

    protected startBuffered(): void {
        while (this.running.size < this.options.maxParallel && this.buffer.length) {
            void this.process(this.buffer.shift()!);
        }
    }

    protected async process(claimed: ClaimedMessage): Promise<void> {
        this.running.add(claimed.id);
        const started = performance.now();
        let settlement: Settlement;
        try {
            settlement = await this.execute(claimed);
        } finally {
            this.running.delete(claimed.id);
        }
        const took = performance.now() - started;
        this.averageCallbackMs = this.averageCallbackMs === undefined ? took : this.averageCallbackMs * 0.9 + took * 0.1;
        // The slot is free before the settlement commits: settlements of many
        // callbacks share one transaction. A crash in between only means a redelivery.
        const settled = this.settle(settlement);
        this.notifyIdle();
        if (!this.stopped) {
            this.startBuffered();
            // Refill at half: one claim then brings many messages instead of one each time.
            // Not when the channel was drained: an idle consumer would claim nothing after every
            // message, and a wake-up arriving meanwhile would wait for that round trip.
            if (this.wanted || (!this.drained && this.buffer.length <= Math.floor(this.prefetch() / 2))) this.wake();
        }
        await settled;
    }

    protected async execute(claimed: ClaimedMessage): Promise<Settlement> {
        const base = { id: claimed.id, consumerId: this.id };
        let message: BrokerQueueMessage<T>;
        try {
            const data = this.codec.decode(claimed.payload);
            message = new BrokerQueueMessage(claimed.id, claimed.channel, data, claimed.attempt, claimed.maxAttempts, claimed.priority, claimed.producedAt);
        } catch (error) {
            // Retrying cannot help an undecodable payload: keep it as failed for an operator.
            const text = error instanceof QueueDecodeError ? error.message : String(error);
            this.context.logger.error(`Queue message ${claimed.id} of channel '${this.channel}' failed: ${text}`);
            return { ...base, kind: 'fail', error: text };
        }
        try {
            await this.callback(message.data, message);
        } catch (error) {
            const text = describeError(error);
            if (claimed.attempt >= claimed.maxAttempts) {
                this.context.logger.warn(`Queue message ${claimed.id} of channel '${this.channel}' failed its last attempt (${claimed.attempt}/${claimed.maxAttempts}): ${text}`);
                return { ...base, kind: 'fail', error: text };
            }
            return { ...base, kind: 'retry', error: text, delay: backoffDelay(this.channelOptions.backoff, claimed.attempt) };
        }
        if (message.rescheduleIn !== undefined) return { ...base, kind: 'reschedule', delay: message.rescheduleIn };
        return { ...base, kind: 'done', retention: this.channelOptions.retention };
    }

    protected async settle(settlement: Settlement): Promise<void> {
        try {
            const lost = await this.context.settlements.add(settlement);
            if (lost !== undefined) {
                this.context.logger.warn(`Queue message ${settlement.id} of channel '${this.channel}' was reclaimed from this consumer before it settled (lease expired?); its result '${settlement.kind}' was dropped and it will be delivered again.`);
            }
        } catch (error) {
            // The lease stays with us until it expires; then the message is delivered again.
            this.context.logger.error(`Queue message ${settlement.id} of channel '${this.channel}' could not be settled as '${settlement.kind}':`, error);
        }
    }

    protected async renew(): Promise<void> {
        const ids = [...this.running, ...this.buffer.map(v => v.id)];
        try {
            const lost = await this.context.storage.renewLeases(this.id, ids, this.channelOptions.lease);
            if (lost.length) {
                const lostSet = new Set(lost);
                this.buffer = this.buffer.filter(v => !lostSet.has(v.id));
                this.context.logger.warn(`Queue consumer of channel '${this.channel}' lost the lease of ${lost.length} message(s) (${lost.join(', ')}); they are delivered again elsewhere.`);
            }
        } catch (error) {
            this.context.logger.error(`Queue consumer of channel '${this.channel}' could not renew its leases:`, error);
        }
    }
}

function describeError(error: unknown): string {
    if (error instanceof Error) return error.stack || `${error.name}: ${error.message}`;
    return String(error);
}
