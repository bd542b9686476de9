import { QueueOptionError } from '../../errors';
import { latencyBucketCount } from '../../latency-buckets';
import { EnqueueRequest, EnqueueResult, MessageId, Settlement } from '../../storage';
import { sqliteCounterColumns, SqliteStatements } from './sqlite-statements';

/**
 * The rows of an enqueue and of a settle, written inside a transaction the
 * caller has opened: the adapter's own IMMEDIATE transaction, or the
 * application's ORM transaction (sqlite-transaction.ts). One place for both.
 */

export function enqueueRows(s: SqliteStatements, requests: EnqueueRequest[], now: number): EnqueueResult[] {
    const produced = new Map<string, number>();
    const results = requests.map(request => {
        if (request.deduplication) {
            const existing = s.dedupGet.get(request.channel, request.deduplication.hash) as { message_id: number, expires_at: number } | undefined;
            if (existing && existing.expires_at > now) return { id: String(existing.message_id), deduplicated: true };
        }
        const headers = request.headers ? JSON.stringify(request.headers) : null;
        const id = Number(s.insert.run(request.channel, request.priority, now + request.delay, now, request.maxAttempts, toBuffer(request.payload), headers).lastInsertRowid);
        if (request.deduplication) s.dedupPut.run(request.channel, request.deduplication.hash, id, now + request.deduplication.interval);
        produced.set(request.channel, (produced.get(request.channel) ?? 0) + 1);
        return { id: String(id), deduplicated: false };
    });
    for (const [channel, count] of produced) countMinute(s, channel, now, { produced: count });
    return results;
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
    const counts = new Map<string, { done: number, failed: number, retried: number }>();
    const count = (channel: string, field: 'done' | 'failed' | 'retried') => {
        let entry = counts.get(channel);
        if (!entry) counts.set(channel, entry = { done: 0, failed: 0, retried: 0 });
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
                if (row) {
                    wakeChannels.push(row.channel);
                    count(row.channel, 'retried');
                }
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
    for (const [channel, entry] of counts) countMinute(s, channel, now, entry);
    return { lost, wakeChannels };
}

/** Counts added to one channel's minute of queue_throughput. */
export interface MinuteCounts {
    produced?: number;
    done?: number;
    failed?: number;
    retried?: number;
    latencySum?: number;
    latency?: number[];
}

/** Adds to the channel's current minute of queue_throughput; inside a write transaction. */
export function countMinute(s: SqliteStatements, channel: string, now: number, counts: MinuteCounts): void {
    const values: number[] = [counts.produced ?? 0, counts.done ?? 0, counts.failed ?? 0, counts.retried ?? 0, counts.latencySum ?? 0];
    for (let i = 0; i < latencyBucketCount; i++) values.push(counts.latency?.[i] ?? 0);
    if (values.length !== sqliteCounterColumns.length) throw new Error('queue_throughput columns and counts differ');
    s.throughput.run(channel, Math.floor(now / 60_000), ...values);
}

export function toBuffer(payload: Uint8Array): Buffer {
    return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}

/** A canonical positive integer: no sign, no leading zeros, no exponent. */
export const rowIdPattern = /^[1-9][0-9]{0,15}$/;

export function toRowId(id: MessageId): number {
    // Checked by pattern, not by String(Number(id)) === id: see MessageRow.id on number-to-string.
    const value = typeof id === 'number' ? id : rowIdPattern.test(id) ? Number(id) : NaN;
    if (!Number.isSafeInteger(value) || value < 1) {
        throw new QueueOptionError(`Invalid message id ${JSON.stringify(id)}: SQLite message ids are positive integers`);
    }
    return value;
}
