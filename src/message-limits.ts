import { QueueMessageTooLargeError } from './errors';
import { ClaimedMessage } from './storage';

/**
 * What one message may cost: `maxMessageSize` on produce, `prefetchBytes` on
 * claim. Both count serialized payload bytes, as stored; headers and row
 * overhead are small and not counted.
 */

/** Throws `QueueMessageTooLargeError` when a serialized message exceeds the channel's `maxMessageSize`. */
export function checkMessageSize(channel: string, payload: Uint8Array, maxMessageSize: number): void {
    if (payload.byteLength > maxMessageSize) throw new QueueMessageTooLargeError(channel, payload.byteLength, maxMessageSize);
}

/** Payload bytes a consumer holds: its running messages and its prefetched ones. */
export function heldBytes(running: { claimed: ClaimedMessage }[], buffer: ClaimedMessage[]): number {
    let bytes = 0;
    for (const run of running) bytes += run.claimed.payload.byteLength;
    for (const claimed of buffer) bytes += claimed.payload.byteLength;
    return bytes;
}

/**
 * The `maxBytes` of a consumer's next claim, or 0 when it must not claim now. A claim always
 * takes its first message, whatever its size (see `QueueStorage.claim`), so a consumer that
 * holds anything claims only while a message of `maxMessageSize` still fits its budget: then
 * what it holds never exceeds `prefetchBytes` (which is at least `maxMessageSize`).
 */
export function claimByteBudget(held: number, prefetchBytes: number, maxMessageSize: number): number {
    if (held === 0) return prefetchBytes;
    const left = prefetchBytes - held;
    return left >= maxMessageSize ? left : 0;
}

/**
 * Payload bytes of finished messages whose settlement is not yet committed: they stay leased in
 * storage until then, so they count against `prefetchBytes`. Settlements of one consumer are
 * committed in the order they were pushed (one group commit at a time), so a FIFO of sizes does.
 */
export class SettlingBytes {
    protected sizes: number[] = [];
    protected head = 0;
    total = 0;

    /** Settlements pushed and not yet committed or failed. */
    get count(): number {
        return this.sizes.length - this.head;
    }

    push(bytes: number): void {
        this.sizes.push(bytes);
        this.total += bytes;
    }

    /** One settlement, the oldest, was committed or failed. */
    shift(): void {
        if (this.head >= this.sizes.length) return;
        this.total -= this.sizes[this.head++];
        if (this.head === this.sizes.length) {
            this.sizes.length = 0;
            this.head = 0;
        }
    }
}
