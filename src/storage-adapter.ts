import {
    ChannelStats, ClaimedMessage, ConsumerRegistration, EnqueueRequest, EnqueueResult,
    FailedMessage, MessageId, QueueStorage, Settlement,
} from './storage';

/**
 * The base class of every adapter we ship. It is where behaviour common to
 * all adapters lives that is not part of the storage contract itself (such
 * as `@deepkit/broker`'s `BrokerAdapterQueue` interface); the abstract
 * methods are the contract, documented in `storage.ts`.
 */
export abstract class QueueStorageAdapter implements QueueStorage {
    abstract connect(): Promise<void>;
    abstract disconnect(): Promise<void>;
    abstract enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]>;
    abstract registerConsumer(consumer: ConsumerRegistration): Promise<void>;
    abstract unregisterConsumer(consumerId: string): Promise<void>;
    abstract claim(channel: string, consumerId: string, limit: number, lease: number): Promise<ClaimedMessage[]>;
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
}
