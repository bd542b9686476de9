/**
 * One error class per concern, each with a stable `name`, so callers can use
 * `instanceof` instead of matching message text.
 */
export class QueueError extends Error {
    constructor(message: string, options?: { cause?: unknown }) {
        super(message, options);
        this.name = new.target.name;
    }
}

/** An option has a value we cannot use (a bad duration, an unknown enum value, ...). */
export class QueueOptionError extends QueueError {
}

/** The produced data does not match the channel's type. Nothing was stored. */
export class QueueValidationError extends QueueError {
    constructor(
        public readonly channel: string,
        public readonly errors: { path: string, code: string, message: string }[],
    ) {
        super(`Invalid message for channel '${channel}': ${errors.map(v => `${v.path || '(root)'}: ${v.message}`).join('; ')}`);
    }
}

/**
 * A message is larger, serialized, than its channel's `maxMessageSize`. Nothing was stored (in
 * `produceMany()`, none of the list).
 */
export class QueueMessageTooLargeError extends QueueError {
    constructor(
        public readonly channel: string,
        /** The serialized (BSON) size in bytes. */
        public readonly size: number,
        public readonly limit: number,
    ) {
        super(`A message of channel '${channel}' is ${size} bytes serialized, more than the ${limit} bytes of option 'maxMessageSize'; nothing was stored. Raise 'maxMessageSize' (channel option, or channelDefaults of the queue) or store large data elsewhere and send a reference.`);
    }
}

/** A stored payload could not be decoded into the channel's type (the type changed, or the bytes are corrupt). */
export class QueueDecodeError extends QueueError {
}

/** The storage failed (disk full, corrupt or locked database, lost connection). The operation did not take effect. */
export class QueueStorageError extends QueueError {
    constructor(message: string, public readonly code?: string, options?: { cause?: unknown }) {
        super(message, options);
    }
}

/**
 * The storage rejected a value of the request (out of range, too large, a constraint). Nothing was written,
 * and writing the same request again fails the same way; other requests are not affected.
 */
export class QueueStorageDataError extends QueueStorageError {
}

/** The storage stayed locked by another process for longer than the configured busy timeout. */
export class QueueStorageBusyError extends QueueStorageError {
}

/** The queue or its storage was closed; no new work is accepted. */
export class QueueClosedError extends QueueError {
}

/**
 * A consumer's transaction found, when it wrote the message's result, that the
 * message is no longer leased to it (the lease ran out and another consumer took
 * it over). The transaction rolls back, so its writes never commit twice.
 */
export class QueueLeaseLostError extends QueueError {
    constructor(public readonly messageId: string, public readonly channel: string) {
        super(`Queue message ${messageId} of channel '${channel}' is no longer leased to this consumer (its lease ran out and another consumer took it); this transaction was rolled back so that its writes do not commit twice.`);
    }
}

/** Why a running message's `message.signal` was aborted. More kinds will come: treat unknown ones like 'shutdown'. */
export type QueueAbortKind = 'timeout' | 'shutdown' | 'cancelled' | 'leaseLost';

/**
 * The `reason` of an aborted `message.signal`. Once it is aborted, whatever
 * the callback still does settles nothing: the message was already retried
 * (`timeout`), handed back for redelivery (`shutdown`), kept as failed by an
 * operator's `queue.cancel()` (`cancelled`), or reclaimed for another
 * consumer after this one's lease ran out (`leaseLost`).
 */
export class QueueMessageAbortedError extends QueueError {
    constructor(message: string, public readonly kind: QueueAbortKind) {
        super(message);
    }
}
