import { ChannelStats, ClaimedMessage, FailedMessage } from '../storage';

/** A claimed message as both SQL adapters return it (same column names). */
export interface ClaimedMessageRow {
    id: number | string;
    channel: string;
    payload: Uint8Array;
    attempt: number;
    /** 0/1 from SQLite, a boolean from PostgreSQL. */
    record_start: number | boolean;
    max_attempts: number;
    priority: number;
    produced_at: number | string | Date;
    /** Set for messages a schedule enqueued. */
    scheduled_at?: number | null;
}

export function claimedMessageFromRow(row: ClaimedMessageRow): ClaimedMessage {
    return {
        id: String(row.id),
        channel: row.channel,
        payload: row.payload,
        attempt: row.attempt,
        maxAttempts: row.max_attempts,
        priority: row.priority,
        producedAt: new Date(row.produced_at),
        recordStart: !!row.record_start,
        scheduledAt: row.scheduled_at == null ? undefined : new Date(row.scheduled_at),
    };
}

/** A failed message as both SQL adapters select it (same column names). */
export interface FailedMessageRow {
    id: number | string;
    channel: string;
    attempt: number;
    max_attempts: number;
    last_error: string | null;
    produced_at: number | string | Date;
    settled_at: number | string | Date;
    payload: Uint8Array;
}

export function failedMessageFromRow(row: FailedMessageRow): FailedMessage {
    return {
        id: String(row.id),
        channel: row.channel,
        attempt: row.attempt,
        maxAttempts: row.max_attempts,
        error: row.last_error ?? '',
        producedAt: new Date(row.produced_at),
        failedAt: new Date(row.settled_at),
        payload: row.payload,
    };
}

/** Collects per-channel figures from several queries into `ChannelStats`, sorted by channel name. */
export class ChannelStatsCollector {
    protected byChannel = new Map<string, ChannelStats>();

    entry(channel: string): ChannelStats {
        let entry = this.byChannel.get(channel);
        if (!entry) this.byChannel.set(channel, entry = { channel, pending: 0, delayed: 0, inFlight: 0, failed: 0, doneLastHour: 0, ratePerSecond: 0 });
        return entry;
    }

    /** A channel asked for by name is listed with zeros when it has no rows. */
    result(channel?: string): ChannelStats[] {
        if (channel !== undefined) this.entry(channel);
        return [...this.byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel));
    }
}
