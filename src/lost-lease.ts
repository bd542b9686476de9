import { QueueMessageAbortedError } from './errors';
import { RunningMessage } from './running-message';
import { cancelledError, MessageId, QueueStorage } from './storage';

/**
 * Why the lease of a running message was lost, as its `message.signal` says: an operator's
 * `queue.cancel()` kept it as failed with error `cancelledError` (kind `'cancelled'`), anything
 * else is a reclaim that handed it to another consumer (kind `'leaseLost'`). Asked only when a
 * renewal finds a lease gone, which is rare: one read per lost message.
 */
export async function lostLeaseReason(storage: QueueStorage, id: MessageId, channel: string): Promise<QueueMessageAbortedError> {
    const message = await storage.getMessage(id).catch(() => undefined);
    if (message?.state === 'failed' && message.error === cancelledError) {
        return new QueueMessageAbortedError(`Message ${id} of channel '${channel}' was cancelled while its callback ran; it is kept as failed ('${cancelledError}')`, 'cancelled');
    }
    return new QueueMessageAbortedError(`The lease of message ${id} of channel '${channel}' was lost while its callback ran (reclaimed for another consumer); it is delivered again elsewhere`, 'leaseLost');
}

/**
 * A renewal found the leases of `lost` gone: aborts the `message.signal` of those still running
 * and frees their slots without settling anything (whoever took the lease decides now), like a
 * timeout does; says which were cancelled and which were taken over.
 */
export async function abortLostRuns(
    context: { storage: QueueStorage, logger: { warn(...m: unknown[]): void, log(...m: unknown[]): void } },
    channel: string,
    running: RunningMessage[],
    lost: MessageId[],
    free: (run: RunningMessage) => void,
): Promise<void> {
    const lostSet = new Set(lost);
    const runs = running.filter(v => lostSet.has(v.claimed.id));
    const reasons = await Promise.all(runs.map(run => lostLeaseReason(context.storage, run.claimed.id, channel)));
    const cancelled = new Set(runs.filter((_, i) => reasons[i].kind === 'cancelled').map(v => v.claimed.id));
    const taken = lost.filter(id => !cancelled.has(id));
    if (taken.length) context.logger.warn(`Queue consumer of channel '${channel}' lost the lease of ${taken.length} message(s) (${taken.join(', ')}); they are delivered again elsewhere.`);
    if (cancelled.size) context.logger.log(`Queue consumer of channel '${channel}' aborted the callback of ${cancelled.size} cancelled message(s) (${[...cancelled].join(', ')}).`);
    runs.forEach((run, i) => {
        // Finished meanwhile: its settlement finds the lease gone and changes nothing.
        if (run.ended || !running.includes(run)) return;
        run.abort(reasons[i]);
        free(run);
    });
}
