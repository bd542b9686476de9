import { Type } from '@deepkit/type';
import { QueueLogger } from './consumer';
import { BrokerQueueMessage } from './message';
import { BrokerQueueProduceOptions, QueueMessageProcessing } from './options';
import { BrokerQueue, BrokerQueueChannel, Release } from './queue';
import { QueueStorage } from './storage';

/**
 * `@deepkit/broker`'s `BrokerAdapterQueueProduceOptionsResolved`, written out
 * structurally so that `@deepkit/broker` is not a dependency: times are
 * already milliseconds, `process` has the same numbers as our enum.
 */
export interface DeepkitBrokerProduceOptions {
    process?: QueueMessageProcessing;
    deduplicationInterval?: number;
    hash?: string | number;
    delay?: number;
    priority?: number;
}

/**
 * The message a `@deepkit/broker` consumer callback receives: the same fields
 * and methods as its `BrokerQueueMessage`. The stock `BrokerQueueChannel`
 * catches the user's error and calls nothing: it sets `state = 'failed'` and
 * `error` itself, so both are read after the callback.
 */
export class DeepkitBrokerQueueMessage<T> {
    state: 'pending' | 'done' | 'failed' = 'pending';
    error?: Error;
    /** Seconds to wait before delivering the message again, set by `delay()`. */
    delayed = 0;

    constructor(
        public channel: string,
        public data: T,
        /** Deliveries so far, this one included (1 on first delivery). */
        public tries: number,
    ) {
    }

    failed(error: Error): void {
        this.state = 'failed';
        this.error = error;
    }

    /** Deliver again after `seconds` instead of marking the message done (not counted as an attempt). */
    delay(seconds: number): void {
        this.delayed = seconds;
    }
}

/**
 * Implements `@deepkit/broker`'s `BrokerAdapterQueue.produce/consume` over
 * our own `BrokerQueue` on the same storage, so the stock `BrokerQueue` gets
 * durable storage, leases, retries with backoff and dead letters. One channel
 * per (name, type) is kept; the storage itself is never closed from here.
 */
export class DeepkitBrokerBridge {
    protected queue?: BrokerQueue;
    protected channels = new Map<string, Map<Type, BrokerQueueChannel<unknown>>>();
    protected releases = new Set<Release>();

    constructor(protected readonly storage: QueueStorage, protected readonly logger?: QueueLogger) {
    }

    async produce(name: string, message: unknown, type: Type, options: DeepkitBrokerProduceOptions = {}): Promise<void> {
        await this.channel(name, type).produce(message, toProduceOptions(options));
    }

    async consume(name: string, callback: (message: DeepkitBrokerQueueMessage<unknown>) => Promise<void>, options: { maxParallel?: number } | undefined, type: Type): Promise<Release> {
        const channel = this.channel(name, type);
        const release = await channel.consume(async (data: unknown, delivered: BrokerQueueMessage<unknown>) => {
            const message = new DeepkitBrokerQueueMessage(name, data, delivered.attempt);
            await callback(message);
            if (message.state === 'failed') throw message.error ?? new Error(`The consumer of '${name}' marked the message as failed`);
            if (message.delayed > 0) delivered.delay(Math.round(message.delayed * 1000));
        }, { maxParallel: options?.maxParallel ?? 1 });
        const once: Release = async () => {
            if (!this.releases.delete(once)) return;
            await release();
        };
        this.releases.add(once);
        return once;
    }

    /** Stops every consumer started through `consume()` (running callbacks finish). */
    async stop(): Promise<void> {
        await Promise.all([...this.releases].map(release => release()));
        await this.queue?.stopConsumers();
    }

    protected channel(name: string, type: Type): BrokerQueueChannel<unknown> {
        let byType = this.channels.get(name);
        if (!byType) this.channels.set(name, byType = new Map());
        let channel = byType.get(type);
        if (!channel) {
            this.queue ??= new BrokerQueue(this.storage, { logger: this.logger });
            byType.set(type, channel = this.queue.channel<unknown>(name, undefined, type));
        }
        return channel;
    }
}

function toProduceOptions(options: DeepkitBrokerProduceOptions): BrokerQueueProduceOptions {
    const result: BrokerQueueProduceOptions = {};
    if (options.delay) result.delay = options.delay;
    if (options.priority !== undefined) result.priority = options.priority;
    if (options.process !== undefined) result.process = options.process;
    if (options.process === QueueMessageProcessing.exactlyOnce) {
        if (options.deduplicationInterval) result.deduplicationInterval = options.deduplicationInterval;
        if (options.hash !== undefined && options.hash !== '') result.hash = options.hash;
    }
    return result;
}
