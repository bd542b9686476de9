import { Duration, maxStoredDuration, parseDuration } from './duration';
import { RunningMessage } from './running-message';
import { MessageId } from './storage';

/** A delivered message, the second argument of a `consume()` callback. */
export class BrokerQueueMessage<T> {
    /** Set by `delay()`: reschedule instead of marking done. */
    rescheduleIn?: number;
    /** The tick this message was enqueued for, when a schedule (`channel.schedule()`) enqueued it. */
    scheduledAt?: Date;

    constructor(
        public readonly id: MessageId,
        public readonly channel: string,
        public readonly data: T,
        /** 1 on first delivery. */
        public readonly attempt: number,
        public readonly maxAttempts: number,
        public readonly priority: number,
        public readonly producedAt: Date,
        /** @internal The consumer's state of this delivery. */
        protected readonly run?: RunningMessage,
    ) {
    }

    /**
     * Aborted when the queue gives up on this callback: its `timeout` passed
     * (`reason.kind === 'timeout'`; the message was retried as a failed attempt)
     * or the shutdown timeout passed (`'shutdown'`; it was handed back for
     * redelivery), an operator cancelled it (`'cancelled'`; kept as failed with
     * error 'cancelled'), or a renewal found its lease taken over by another
     * consumer (`'leaseLost'`). `reason` is a `QueueMessageAbortedError`. Pass it to `fetch()`
     * and the like so abandoned work stops; what the callback does afterwards
     * settles nothing.
     */
    get signal(): AbortSignal {
        return this.run?.signal ?? new AbortController().signal;
    }

    /**
     * Deliver this message again after `duration` instead of marking it done
     * when the callback returns. The delivery does not count as an attempt.
     */
    delay(duration: Duration): void {
        this.rescheduleIn = parseDuration(duration, 'delay', 0, maxStoredDuration);
    }
}
