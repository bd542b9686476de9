import { QueueStorageDataError } from './errors';
import { EnqueueRequest, EnqueueResult, QueueStorage } from './storage';

/** The failure of one request of a group commit: only its own caller hears it. */
export class EnqueueFailure {
    constructor(readonly error: unknown) {
    }
}

/** The result of one request of `enqueueGroup`, or its own error thrown. */
export function enqueueResult(result: EnqueueResult | EnqueueFailure): EnqueueResult {
    if (result instanceof EnqueueFailure) throw result.error;
    return result;
}

/**
 * Writes produce() calls that share a transaction only to save commits (group commit), so that one
 * request the storage rejects for its data (`QueueStorageDataError`: the transaction rolled back,
 * nothing was written) fails alone: the group is written again in halves until each rejected request
 * stands alone. Any other error of the whole group fails all of it: after a lost connection the
 * outcome is unknown, and writing again could store every message twice.
 */
export async function enqueueGroup(storage: QueueStorage, requests: EnqueueRequest[]): Promise<(EnqueueResult | EnqueueFailure)[]> {
    try {
        return await storage.enqueue(requests);
    } catch (error) {
        if (!(error instanceof QueueStorageDataError) || requests.length === 1) throw error;
        return isolate(storage, requests, error);
    }
}

async function isolate(storage: QueueStorage, requests: EnqueueRequest[], error: QueueStorageDataError): Promise<(EnqueueResult | EnqueueFailure)[]> {
    if (requests.length === 1) return [new EnqueueFailure(error)];
    const middle = Math.ceil(requests.length / 2);
    const results: (EnqueueResult | EnqueueFailure)[] = [];
    // One half after the other: a produce's order within the group stays the order of the ids.
    for (const part of [requests.slice(0, middle), requests.slice(middle)]) {
        try {
            results.push(...await storage.enqueue(part));
        } catch (partError) {
            if (partError instanceof QueueStorageDataError) {
                results.push(...await isolate(storage, part, partError));
            } else {
                // Only this part's outcome is unknown; what was written before stands.
                for (let i = 0; i < part.length; i++) results.push(new EnqueueFailure(partError));
            }
        }
    }
    return results;
}
