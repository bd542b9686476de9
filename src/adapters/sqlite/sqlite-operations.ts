import { QueueOptionError } from '../../errors';
import { EnqueueRequest, EnqueueResult, MessageId, Settlement } from '../../storage';
import { SqliteStatements } from './sqlite-statements';

/**
 * The rows of an enqueue and of a settle, written inside a transaction the
 * caller has opened: the adapter's own IMMEDIATE transaction, or the
 * application's ORM transaction (sqlite-transaction.ts). One place for both.
 */

export function enqueueRows(s: SqliteStatements, requests: EnqueueRequest[], now: number): EnqueueResult[] {
    return requests.map(request => {
        if (request.deduplication) {
            const existing = s.dedupGet.get(request.channel, request.deduplication.hash) as { message_id: number, expires_at: number } | undefined;
            if (existing && existing.expires_at > now) return { id: String(existing.message_id), deduplicated: true };
        }
        const id = Number(s.insert.run(request.channel, request.priority, now + request.delay, now, request.maxAttempts, toBuffer(request.payload)).lastInsertRowid);
        if (request.deduplication) s.dedupPut.run(request.channel, request.deduplication.hash, id, now + request.deduplication.interval);
        return { id: String(id), deduplicated: false };
    });
}

export interface SettleOutcome {
    /** Ids no longer leased to their consumer. */
    lost: MessageId[];
    /** Channels with a message pending again, to wake after the commit. */
    wakeChannels: string[];
}

export function settleRows(s: SqliteStatements, settlements: Settlement[], now: number): SettleOutcome {
    const lost: MessageId[] = [];
    const wakeChannels: string[] = [];
    const counts = new Map<string, { done: number, failed: number }>();
    const count = (channel: string, field: 'done' | 'failed') => {
        let entry = counts.get(channel);
        if (!entry) counts.set(channel, entry = { done: 0, failed: 0 });
        entry[field]++;
    };
    for (const settlement of settlements) {
        const id = toRowId(settlement.id);
        const owner = settlement.consumerId;
        let row: { channel: string } | undefined;
        switch (settlement.kind) {
            case 'done':
                row = settlement.retention > 0
                    ? s.markDone.get(now, now + settlement.retention, id, owner) as typeof row
                    : s.deleteLeased.get(id, owner) as typeof row;
                if (row) count(row.channel, 'done');
                break;
            case 'retry':
                row = s.retry.get(now + settlement.delay, settlement.error, id, owner) as typeof row;
                if (row) wakeChannels.push(row.channel);
                break;
            case 'fail':
                row = s.fail.get(settlement.error, now, id, owner) as typeof row;
                if (row) count(row.channel, 'failed');
                break;
            case 'reschedule':
                row = s.reschedule.get(now + settlement.delay, id, owner) as typeof row;
                if (row) wakeChannels.push(row.channel);
                break;
            case 'release':
                row = s.release.get(id, owner) as typeof row;
                if (row) wakeChannels.push(row.channel);
                break;
            case 'start':
                row = s.start.get(id, owner) as typeof row;
                break;
        }
        if (!row) lost.push(settlement.id);
    }
    const minute = Math.floor(now / 60_000);
    for (const [channel, entry] of counts) s.throughput.run(channel, minute, entry.done, entry.failed);
    return { lost, wakeChannels };
}

export function toBuffer(payload: Uint8Array): Buffer {
    return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** A canonical positive integer: no sign, no leading zeros, no exponent. */
const rowIdPattern = /^[1-9][0-9]{0,15}$/;

export function toRowId(id: MessageId): number {
    // Checked by pattern, not by String(Number(id)) === id: see MessageRow.id on number-to-string.
    const value = typeof id === 'number' ? id : rowIdPattern.test(id) ? Number(id) : NaN;
    if (!Number.isSafeInteger(value) || value < 1) {
        throw new QueueOptionError(`Invalid message id ${JSON.stringify(id)}: SQLite message ids are positive integers`);
    }
    return value;
}
