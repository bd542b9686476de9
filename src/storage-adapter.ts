import { Type } from '@deepkit/type';
import { DeepkitBrokerBridge, DeepkitBrokerProduceOptions, DeepkitBrokerQueueMessage } from './broker-compat';
import { Release } from './queue';
import {
    CancelResult, ChannelMinute, ChannelStats, FlowLimits, ChannelTotals, ClaimedMessage, ConsumerInfo, ConsumerRegistration, DueSchedules, EnqueueRequest, EnqueueResult,
    FailedMessage, MessageId, MessageInfo, QueueStorage, ScheduleFire, ScheduleUpsert, Settlement, StoredSchedule,
} from './storage';

/**
 * The base class of every adapter we ship. It is where behaviour common to
 * all adapters lives that is not part of the storage contract itself; the
 * abstract methods are the contract, documented in `storage.ts`.
 *
 * It implements `@deepkit/broker`'s `BrokerAdapterQueue` (`produce`,
 * `consume`, `disconnect`), so `new BrokerQueue(adapter)` from
 * `@deepkit/broker` gets durable storage with no other change.
 *
 * Adapters implement `disconnect()` and call `await super.disconnect()` first:
 * it stops the consumers started through `@deepkit/broker`.
 */
export abstract class QueueStorageAdapter implements QueueStorage {
    #broker?: DeepkitBrokerBridge;

    abstract connect(): Promise<void>;

    async disconnect(): Promise<void> {
        await this.#broker?.stop();
    }

    abstract enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]>;
    abstract registerConsumer(consumer: ConsumerRegistration): Promise<void>;
    abstract unregisterConsumer(consumerId: string): Promise<void>;
    abstract claim(channel: string, consumerId: string, limit: number, lease: number): Promise<ClaimedMessage[]>;
    abstract declareFlow(channel: string, limits: FlowLimits): Promise<FlowLimits>;
    abstract setPaused(channel: string, paused: boolean): Promise<void>;
    abstract renewLeases(consumerId: string, ids: MessageId[], lease: number): Promise<MessageId[]>;
    abstract settle(settlements: Settlement[]): Promise<MessageId[]>;
    abstract reclaimAbandoned(): Promise<number>;
    abstract nextAvailableIn(channel: string): Promise<number | undefined>;
    abstract watch(channel: string, listener: () => void): () => void;
    abstract prune(): Promise<void>;
    abstract stats(channel?: string): Promise<ChannelStats[]>;
    abstract listFailed(channel: string, options: { limit: number, offset: number }): Promise<FailedMessage[]>;
    abstract retryFailed(channel: string, ids?: MessageId[]): Promise<number>;
    abstract purge(channel: string, which: 'failed' | 'all'): Promise<number>;
    abstract cancel(channel: string, id: MessageId): Promise<CancelResult>;
    abstract clock(): Promise<number>;
    abstract upsertSchedule(schedule: ScheduleUpsert): Promise<StoredSchedule>;
    abstract removeSchedule(channel: string, key: string): Promise<boolean>;
    abstract listSchedules(channel?: string): Promise<StoredSchedule[]>;
    abstract dueSchedules(limit: number): Promise<DueSchedules>;
    abstract fireSchedule(fire: ScheduleFire): Promise<MessageId[] | undefined>;
    abstract searchFailed(channel: string, options: { search?: string, limit: number, offset: number }): Promise<{ total: number, messages: FailedMessage[] }>;
    abstract getMessage(id: MessageId): Promise<MessageInfo | undefined>;
    abstract history(options: { since: number, channel?: string }): Promise<ChannelMinute[]>;
    abstract totals(): Promise<ChannelTotals[]>;
    abstract listConsumers(): Promise<ConsumerInfo[]>;

    /** `@deepkit/broker`'s `BrokerAdapterQueue.produce`: validates and stores the message; resolves after the commit. */
    produce(name: string, message: any, type: Type, options?: DeepkitBrokerProduceOptions): Promise<void> {
        return this.brokerBridge().produce(name, message, type, options);
    }

    /**
     * `@deepkit/broker`'s `BrokerAdapterQueue.consume`. After the callback,
     * `message.state === 'failed'` (or a throw) is a failed attempt, retried
     * with backoff and kept as failed after the last one; `message.delay(seconds)`
     * delivers it again later; anything else marks it done.
     */
    consume(name: string, callback: (message: DeepkitBrokerQueueMessage<any>) => Promise<void>, options: { maxParallel: number }, type: Type): Promise<Release> {
        return this.brokerBridge().consume(name, callback, options, type);
    }

    protected brokerBridge(): DeepkitBrokerBridge {
        return this.#broker ??= new DeepkitBrokerBridge(this);
    }
}
