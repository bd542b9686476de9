import { Duration, maxStoredDuration, parseDuration } from './duration';
import { MessageId } from './storage';

/** A delivered message, the second argument of a `consume()` callback. */
export class BrokerQueueMessage<T> {
    /** Set by `delay()`: reschedule instead of marking done. */
    rescheduleIn?: number;

    constructor(
        public readonly id: MessageId,
        public readonly channel: string,
        public readonly data: T,
        /** 1 on first delivery. */
        public readonly attempt: number,
        public readonly maxAttempts: number,
        public readonly priority: number,
        public readonly producedAt: Date,
    ) {
    }

    /**
     * Deliver this message again after `duration` instead of marking it done
     * when the callback returns. The delivery does not count as an attempt.
     */
    delay(duration: Duration): void {
        this.rescheduleIn = parseDuration(duration, 'delay', 0, maxStoredDuration);
    }
}
