import { deserializeBSONWithoutOptimiser } from '@deepkit/bson';
import { addLatency, emptyLatency, latencyQuantile } from '../latency-buckets';
import { BrokerQueue } from '../queue';
import { ChannelMinute, ChannelStats, ConsumerInfo, QueueStorage } from '../storage';

/**
 * What the queue and its storage can do beyond the base contract. Pause,
 * resume and cancel are separate capabilities (not every storage has them);
 * the dashboard shows their buttons only where they exist.
 */
export interface DashboardCapabilities {
    pause: boolean;
    cancel: boolean;
    schedules: boolean;
}

type Maybe = Record<string, unknown>;

export function capabilities(queue: BrokerQueue): DashboardCapabilities {
    const has = (name: string) => typeof (queue as unknown as Maybe)[name] === 'function' || typeof (queue.adapter as unknown as Maybe)[name] === 'function';
    return {
        pause: has('pause') && has('resume'),
        cancel: has('cancel'),
        schedules: typeof (queue as unknown as Maybe).schedules === 'function',
    };
}

/** Calls a capability on the queue where it has it, else on its storage (`pause(channel)`, `cancel(channel, id)`, ...). */
export async function callCapability(queue: BrokerQueue, name: string, ...args: unknown[]): Promise<unknown> {
    await queue.connect();
    const target = typeof (queue as unknown as Maybe)[name] === 'function' ? queue : queue.adapter;
    return (target as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[name](...args);
}

/** The storage, connected: the dashboard reads it directly, as the CLI does. */
export async function storageOf(queue: BrokerQueue): Promise<QueueStorage> {
    await queue.connect();
    return queue.adapter;
}

export interface ScheduleRow {
    channel: string;
    key: string;
    schedule: string;
    next?: Date;
    last?: Date;
}

/** `queue.schedules()` where it exists, read defensively: it is another part of the queue with its own shape. */
export async function readSchedules(queue: BrokerQueue): Promise<ScheduleRow[] | undefined> {
    const schedules = (queue as unknown as { schedules?: () => Promise<Maybe[]> }).schedules;
    if (typeof schedules !== 'function') return undefined;
    const list = await schedules.call(queue);
    // The view is for queues that have schedules: none stored, no table.
    if (!Array.isArray(list) || !list.length) return undefined;
    return list.map(entry => ({
        channel: String(entry.channel ?? ''),
        key: String(entry.key ?? entry.name ?? ''),
        schedule: describeSchedule(entry),
        next: toDate(entry.nextRunAt ?? entry.nextRun ?? entry.next),
        last: toDate(entry.lastRunAt ?? entry.lastRun ?? entry.last),
    }));
}

function describeSchedule(entry: Maybe): string {
    // queue.schedules() lists the resolved options (`every` in ms) under `options`.
    const nested = [entry.options, entry.schedule].find(v => v && typeof v === 'object');
    const spec = (nested ?? entry) as Maybe;
    const parts: string[] = [];
    if (spec.cron !== undefined) parts.push(`cron ${spec.cron}`);
    if (spec.every !== undefined) parts.push(`every ${typeof spec.every === 'number' ? `${spec.every}ms` : spec.every}`);
    if (spec.timezone !== undefined) parts.push(String(spec.timezone));
    return parts.join(', ') || (typeof entry.schedule === 'string' ? entry.schedule : '');
}

function toDate(value: unknown): Date | undefined {
    if (value instanceof Date) return value;
    if (typeof value === 'number' || typeof value === 'string') {
        const date = new Date(value);
        return Number.isNaN(date.getTime()) ? undefined : date;
    }
    return undefined;
}

/** Paused state per channel, when the storage reports it in its stats. */
export function pausedOf(stats: ChannelStats): boolean | undefined {
    const paused = (stats as unknown as Maybe).paused;
    return typeof paused === 'boolean' ? paused : undefined;
}

export interface ChartSeries {
    /** Seconds since the epoch, one per point. */
    time: number[];
    produced: number[];
    done: number[];
    failed: number[];
    /** Queue latency percentiles in ms, null where no message was claimed. */
    p50: (number | null)[];
    p95: (number | null)[];
    /** Minutes per point: rates are per minute whatever the step. */
    step: number;
}

export const ranges = { hour: { minutes: 60, step: 1 }, day: { minutes: 24 * 60, step: 10 } } as const;
export type ChartRange = keyof typeof ranges;

/** Throughput per minute and latency percentiles of one channel, one point per `step` minutes, gaps filled. */
export function chartSeries(minutes: ChannelMinute[], range: ChartRange, now = Date.now()): ChartSeries {
    const { minutes: span, step } = ranges[range];
    const last = Math.floor(now / 60_000 / step) * step;
    const first = last - span + step;
    const points = span / step;
    const series: ChartSeries = { time: [], produced: [], done: [], failed: [], p50: [], p95: [], step };
    const latency = Array.from({ length: points }, () => emptyLatency());
    for (let i = 0; i < points; i++) {
        series.time.push((first + i * step) * 60);
        series.produced.push(0);
        series.done.push(0);
        series.failed.push(0);
    }
    for (const row of minutes) {
        const index = Math.floor((Math.floor(row.minute.getTime() / 60_000) - first) / step);
        if (index < 0 || index >= points) continue;
        series.produced[index] += row.produced / step;
        series.done[index] += row.done / step;
        series.failed[index] += row.failed / step;
        addLatency(latency[index], row.latency);
    }
    for (const entry of latency) {
        series.p50.push(latencyQuantile(entry, 0.5) ?? null);
        series.p95.push(latencyQuantile(entry, 0.95) ?? null);
    }
    return series;
}

/** p50 and p95 over a list of minutes. */
export function latencySummary(minutes: ChannelMinute[]): { p50?: number, p95?: number } {
    const total = emptyLatency();
    for (const row of minutes) addLatency(total, row.latency);
    return { p50: latencyQuantile(total, 0.5), p95: latencyQuantile(total, 0.95) };
}

/** Consumers grouped by channel. */
export function consumersByChannel(consumers: ConsumerInfo[]): Map<string, ConsumerInfo[]> {
    const map = new Map<string, ConsumerInfo[]>();
    for (const consumer of consumers) map.set(consumer.channel, [...map.get(consumer.channel) ?? [], consumer]);
    return map;
}

/**
 * A stored payload as JSON text, decoded without the channel's type (the
 * dashboard's process may not know every channel): BSON dates become ISO
 * strings, binary data base64.
 */
export function payloadJson(payload: Uint8Array, indent = 2): string {
    let value: unknown;
    try {
        value = deserializeBSONWithoutOptimiser(payload).v;
    } catch (error) {
        return `(cannot decode ${payload.byteLength} bytes: ${error instanceof Error ? error.message : String(error)})`;
    }
    return JSON.stringify(value, (_, v) => {
        if (typeof v === 'bigint') return v.toString();
        if (v instanceof Uint8Array) return { $binary: Buffer.from(v).toString('base64') };
        return v;
    }, indent) ?? 'undefined';
}
