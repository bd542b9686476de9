import { MessageCodec } from '../codec';
import { ConsumerContext, QueueConsumer } from '../consumer';
import { QueueLeaseLostError, QueueOptionError } from '../errors';
import { BrokerQueueMessage } from '../message';
import { BrokerQueueChannelOptionsResolved, BrokerQueueConsumeOptionsResolved } from '../options';
import { ClaimedMessage, isTransactionalStorage, MessageId, QueueStorage, QueueTransactionalStorage, Settlement, TransactionalSettlement } from '../storage';
import { consumerTransaction } from './orm-session';
import { OrmTransactionLike, QueueOrmDatabase } from './orm-types';

/** The callback of `consume(callback, { database })`: its writes through `session` commit together with the message's result. */
export type TransactionalConsumeCallback<T, S = any> = (data: T, message: BrokerQueueMessage<T>, session: S) => Promise<void> | void;

/** The message was no longer leased to this consumer when its transaction began: it ran nowhere here. */
class LeaseGoneBeforeStart extends Error {
}

/** Throws the abort reason (a QueueMessageAbortedError) of an aborted run: the transaction rolls back. */
function rollBackIfAborted(message: BrokerQueueMessage<unknown>): void {
    const signal = message.signal;
    if (signal.aborted) throw signal.reason;
}

/**
 * `consume(callback, { database })`: each message runs in
 * `database.transaction(...)`. Its first statement checks the lease (and on
 * SQLite takes the write lock), the callback writes through the session, and
 * the result (done, or a reschedule by `message.delay()`) is written last in
 * the same transaction: the callback's writes and the ack commit together or
 * not at all. If the lease was lost meanwhile the result cannot be written,
 * the transaction rolls back with `QueueLeaseLostError` and the consumer that
 * owns the message now commits it instead. A callback that throws rolls back
 * its writes; the retry or failure is then written as for any consumer.
 *
 * Main's run semantics hold here too: a message with `recordStart` has its start
 * committed (QueueConsumer.startAlone) before its transaction begins; past the
 * `timeout`, or once abandoned, `message.signal` is aborted and the transaction
 * rolls back instead of committing its ack; `stop()` is the memoized one.
 */
export class TransactionalQueueConsumer<T> extends QueueConsumer<T> {
    /** Settlements already written inside a transaction, or not ours to write: not for the batcher. */
    protected readonly written = new WeakSet<Settlement>();
    /** Messages whose result is written in a transaction that has not finished yet. */
    protected readonly committing = new Set<MessageId>();
    protected readonly storage: QueueStorage & QueueTransactionalStorage;

    constructor(
        context: ConsumerContext,
        codec: MessageCodec<T>,
        channelOptions: BrokerQueueChannelOptionsResolved,
        options: BrokerQueueConsumeOptionsResolved,
        protected readonly transactionalCallback: TransactionalConsumeCallback<T>,
        protected readonly database: QueueOrmDatabase,
    ) {
        const self: { consumer?: TransactionalQueueConsumer<T> } = {};
        super(context, codec, channelOptions, options, (data, message) => self.consumer!.transact(data, message));
        self.consumer = this;
        if (!isTransactionalStorage(context.storage)) {
            throw new QueueOptionError("Option 'database': this queue's storage adapter cannot join ORM transactions (SqliteQueueAdapter and PostgresQueueAdapter can)");
        }
        this.storage = context.storage;
    }

    /** Refuses a database that is not the queue's own before any message is claimed. */
    override async start(): Promise<void> {
        await this.storage.attachDatabase(this.database);
        await super.start();
    }

    protected async transact(data: T, message: BrokerQueueMessage<T>): Promise<void> {
        await this.database.transaction(session => {
            const transaction = (session as { assignedTransaction?: OrmTransactionLike }).assignedTransaction!;
            return consumerTransaction.run(transaction, async () => {
                rollBackIfAborted(message);
                const scope = await this.storage.joinTransaction(session);
                if (!await scope.holdLease(message.id, this.id)) throw new LeaseGoneBeforeStart(message.id);
                await this.transactionalCallback(data, message, session);
                // Timed out or abandoned meanwhile: the message was already retried or handed back, so
                // neither the callback's writes nor an ack may commit.
                rollBackIfAborted(message);
                const settlement: TransactionalSettlement = message.rescheduleIn !== undefined
                    ? { kind: 'reschedule', id: message.id, consumerId: this.id, delay: message.rescheduleIn }
                    : { kind: 'done', id: message.id, consumerId: this.id, retention: this.channelOptions.retention };
                if (!await scope.settle(settlement)) throw new QueueLeaseLostError(message.id, this.channel);
                rollBackIfAborted(message);
                this.committing.add(message.id);
            });
        });
    }

    /** A renewal that ran into the commit finds the message settled: that is no lost lease. */
    protected override settledMeanwhile(id: MessageId): boolean {
        return this.committing.has(id);
    }

    protected override succeeded(claimed: ClaimedMessage, message: BrokerQueueMessage<T>): Settlement {
        this.committing.delete(claimed.id);
        const settlement = super.succeeded(claimed, message);
        this.written.add(settlement);
        return settlement;
    }

    protected override failed(claimed: ClaimedMessage, error: unknown): Settlement {
        this.committing.delete(claimed.id);
        if (!(error instanceof LeaseGoneBeforeStart || error instanceof QueueLeaseLostError)) return super.failed(claimed, error);
        // Another consumer owns the message now: nothing is ours to write.
        this.context.logger.warn(error instanceof QueueLeaseLostError
            ? error.message
            : `Queue message ${claimed.id} of channel '${this.channel}' was taken over by another consumer before its transaction began (its lease ran out); skipped here.`);
        const settlement: Settlement = { kind: 'release', id: claimed.id, consumerId: this.id };
        this.written.add(settlement);
        return settlement;
    }

    protected override settle(settlement: Settlement, bytes = 0): void {
        if (this.written.has(settlement)) return;
        super.settle(settlement, bytes);
    }
}
