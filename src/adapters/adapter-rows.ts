import { latencyColumns } from '../latency-buckets';
import { ChannelMinute, ChannelStats, ChannelTotals, ClaimedMessage, ConsumerInfo, FailedMessage, MessageInfo, MessageState } from '../storage';

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
    /** JSON of the request's headers, or null. */
    headers?: string | null;
}

export function claimedMessageFromRow(row: ClaimedMessageRow): ClaimedMessage {
    const message: ClaimedMessage = {
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
    if (row.headers) message.headers = JSON.parse(row.headers);
    return message;
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
        if (!entry) this.byChannel.set(channel, entry = { channel, pending: 0, delayed: 0, inFlight: 0, failed: 0, doneLastHour: 0, ratePerSecond: 0, paused: false });
        return entry;
    }

    /** A channel asked for by name is listed with zeros when it has no rows. */
    result(channel?: string): ChannelStats[] {
        if (channel !== undefined) this.entry(channel);
        return [...this.byChannel.values()].sort((a, b) => a.channel.localeCompare(b.channel));
    }
}

/** Counter and latency columns of queue_throughput and queue_totals, as both SQL adapters select them. */
export type CountsRow = { channel: string, produced: number | string, done: number | string, failed: number | string, retried: number | string, latency_sum: number | string } & Record<string, any>;

function countsFromRow(row: CountsRow) {
    return {
        channel: row.channel,
        produced: Number(row.produced),
        done: Number(row.done),
        failed: Number(row.failed),
        retried: Number(row.retried),
        latency: { sum: Number(row.latency_sum), counts: latencyColumns.map(column => Number(row[column])) },
    };
}

export function channelMinuteFromRow(row: CountsRow & { minute: number | string }): ChannelMinute {
    const { channel, ...counts } = countsFromRow(row);
    return { channel, minute: new Date(Number(row.minute) * 60_000), ...counts };
}

export function channelTotalsFromRow(row: CountsRow): ChannelTotals {
    return countsFromRow(row);
}

export interface ConsumerRow {
    id: string;
    channel: string;
    host: string;
    pid: number;
    registered_at: number | string | Date;
    in_flight: number | string;
}

export function consumerFromRow(row: ConsumerRow): ConsumerInfo {
    return {
        id: row.id,
        channel: row.channel,
        // The registered identity is "hostname/boot id/pid namespace"; people know the first part.
        host: row.host.split('/')[0],
        pid: row.pid,
        since: new Date(Number(row.registered_at)),
        inFlight: Number(row.in_flight),
    };
}

export interface MessageRow {
    id: number | string;
    channel: string;
    state: number;
    attempt: number;
    max_attempts: number;
    priority: number;
    produced_at: number | string;
    available_at: number | string;
    settled_at: number | string | null;
    last_error: string | null;
    lease_owner: string | null;
    payload: Uint8Array;
    headers: string | null;
    /** The storage's clock, to tell delayed from pending. */
    now: number | string;
}

const states: MessageState[] = ['pending', 'leased', 'failed', 'done'];

export function messageInfoFromRow(row: MessageRow): MessageInfo {
    let state = states[row.state];
    if (state === 'pending' && Number(row.available_at) > Number(row.now)) state = 'delayed';
    const info: MessageInfo = {
        id: String(row.id),
        channel: row.channel,
        state,
        attempt: row.attempt,
        maxAttempts: row.max_attempts,
        priority: row.priority,
        producedAt: new Date(Number(row.produced_at)),
        availableAt: new Date(Number(row.available_at)),
        payload: row.payload,
    };
    if (row.settled_at !== null) info.settledAt = new Date(Number(row.settled_at));
    if (row.last_error !== null) info.error = row.last_error;
    if (row.lease_owner !== null) info.leaseOwner = row.lease_owner;
    if (row.headers) info.headers = JSON.parse(row.headers);
    return info;
}

/** Escapes `%`, `_` and the escape character itself for `LIKE ... ESCAPE '\\'`. */
export function likePattern(search: string): string {
    return '%' + search.replace(/[\\%_]/g, v => '\\' + v) + '%';
}
