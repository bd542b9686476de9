import type * as PromClient from 'prom-client';
import { CallbackObservation, QueueInstrumentation } from '../instrumentation';
import { latencyBucketBounds, LatencyCounts } from '../latency-buckets';
import type { BrokerQueue } from '../queue';
import { ChannelStats, ChannelTotals, ClaimedMessage, ConsumerInfo, Settlement } from '../storage';

export interface QueueMetricsOptions {
    /** The `prom-client` module; loaded from the app's dependencies when not given. */
    client?: typeof PromClient;
    /** Where the metrics are registered. Default a registry of their own (merge it with `Registry.merge` to serve both). */
    registry?: PromClient.Registry;
    /** Name prefix. Default `'deepkit_queue_'`. */
    prefix?: string;
    /** Buckets of the callback duration histogram, in seconds. Default 1 ms to 5 min. */
    durationBuckets?: number[];
}

const defaultDurationBuckets = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

interface Snapshot {
    stats: ChannelStats[];
    totals: ChannelTotals[];
    consumers: ConsumerInfo[];
}

type Value = { value: number, labels: Record<string, string | number>, metricName?: string };

/**
 * Prometheus metrics with prom-client. Two kinds:
 * - read from the storage at each scrape, so they are the queue's own numbers
 *   whichever process produced or consumed (workers elsewhere included):
 *   counters `produced_total`, `completed_total`, `failed_total`,
 *   `retried_total`, gauges `messages{state}` and `consumers`, and the
 *   histogram `queue_latency_seconds` (availability to claim);
 * - measured in this process: the histogram `callback_duration_seconds` of
 *   the callbacks this process ran (each worker has its own).
 *
 * @reflection never
 */
export class QueueMetrics implements QueueInstrumentation {
    readonly registry: PromClient.Registry;
    protected readonly client: typeof PromClient;
    protected readonly prefix: string;
    protected readonly callbackDuration: PromClient.Histogram<'channel' | 'outcome'>;
    protected readonly durations = new Map<string, { observe(value: number): void }>();
    protected queue?: BrokerQueue;
    protected snapshot?: Promise<Snapshot>;

    constructor(options: QueueMetricsOptions = {}) {
        this.client = options.client ?? loadPromClient()!;
        if (!this.client) throw new Error("QueueMetrics needs the 'prom-client' package: npm install prom-client");
        this.registry = options.registry ?? new this.client.Registry();
        this.prefix = options.prefix ?? 'deepkit_queue_';
        this.callbackDuration = new this.client.Histogram({
            name: `${this.prefix}callback_duration_seconds`,
            help: 'Duration of consume callbacks run by this process, by channel and outcome (done, retry, fail, reschedule; release when the shutdown timeout abandoned it)',
            labelNames: ['channel', 'outcome'],
            buckets: options.durationBuckets ?? defaultDurationBuckets,
            registers: [this.registry],
        });
        this.storageMetric('produced_total', 'counter', 'Messages stored, per channel (all processes)', s => s.totals.map(v => ({ labels: { channel: v.channel }, value: v.produced })));
        this.storageMetric('completed_total', 'counter', 'Messages processed successfully, per channel (all processes)', s => s.totals.map(v => ({ labels: { channel: v.channel }, value: v.done })));
        this.storageMetric('failed_total', 'counter', 'Messages kept as failed (out of attempts or undecodable), per channel (all processes)', s => s.totals.map(v => ({ labels: { channel: v.channel }, value: v.failed })));
        this.storageMetric('retried_total', 'counter', 'Messages made pending again after a failed attempt or by a retry of failed messages, per channel (all processes)', s => s.totals.map(v => ({ labels: { channel: v.channel }, value: v.retried })));
        this.storageMetric('messages', 'gauge', 'Messages in the storage now, per channel and state (pending, delayed, in_flight, failed)', s => s.stats.flatMap(v => [
            { labels: { channel: v.channel, state: 'pending' }, value: v.pending },
            { labels: { channel: v.channel, state: 'delayed' }, value: v.delayed },
            { labels: { channel: v.channel, state: 'in_flight' }, value: v.inFlight },
            { labels: { channel: v.channel, state: 'failed' }, value: v.failed },
        ]));
        this.storageMetric('consumers', 'gauge', 'Registered consumers, per channel (all processes and hosts)', s => {
            const counts = new Map<string, number>();
            for (const consumer of s.consumers) counts.set(consumer.channel, (counts.get(consumer.channel) ?? 0) + 1);
            return [...counts].map(([channel, value]) => ({ labels: { channel }, value }));
        });
        this.storageMetric('queue_latency_seconds', 'histogram', 'Time from a message becoming available to a worker claiming it, per channel (all processes)',
            s => s.totals.flatMap(v => histogramValues(`${this.prefix}queue_latency_seconds`, v.channel, v.latency)));
    }

    /** Reads the storage-based metrics from this queue's storage. */
    attach(queue: BrokerQueue): this {
        this.queue = queue;
        return this;
    }

    /** The Prometheus text exposition of every metric in the registry. */
    metrics(): Promise<string> {
        return this.registry.metrics();
    }

    get contentType(): string {
        return this.registry.contentType;
    }

    process(message: ClaimedMessage): CallbackObservation {
        return {
            run: callback => callback(),
            end: (outcome: Settlement['kind'], durationMs: number) => this.observe(message.channel, outcome, durationMs / 1000),
        };
    }

    protected observe(channel: string, outcome: string, seconds: number): void {
        // A child per label pair: prom-client hashes the labels on every plain observe().
        const key = `${outcome}\0${channel}`;
        let child = this.durations.get(key);
        if (!child) this.durations.set(key, child = this.callbackDuration.labels(channel, outcome));
        child.observe(seconds);
    }

    /**
     * Registers a metric whose values come from the storage. Every metric of one scrape reads
     * the same snapshot: prom-client asks them all in the same turn of the event loop.
     */
    protected storageMetric(name: string, type: 'counter' | 'gauge' | 'histogram', help: string, values: (snapshot: Snapshot) => Value[]): void {
        const fullName = this.prefix + name;
        const metric = {
            name: fullName,
            help,
            type,
            aggregator: 'sum',
            get: async () => ({ name: fullName, help, type, aggregator: 'sum', values: this.queue ? values(await this.read()) : [] }),
        };
        this.registry.registerMetric(metric as unknown as PromClient.Metric);
    }

    protected read(): Promise<Snapshot> {
        if (!this.snapshot) {
            const queue = this.queue!;
            this.snapshot = queue.connect().then(async () => ({
                stats: await queue.adapter.stats(),
                totals: await queue.adapter.totals(),
                consumers: await queue.adapter.listConsumers(),
            }));
            const clear = () => this.snapshot = undefined;
            this.snapshot.then(clear, clear);
        }
        return this.snapshot;
    }
}

/** A Prometheus histogram's samples from stored bucket counts: cumulative `_bucket`s in seconds, `_sum`, `_count`. */
function histogramValues(name: string, channel: string, latency: LatencyCounts): Value[] {
    const values: Value[] = [];
    let cumulative = 0;
    latencyBucketBounds.forEach((bound, i) => {
        cumulative += latency.counts[i];
        values.push({ metricName: `${name}_bucket`, labels: { channel, le: bound / 1000 }, value: cumulative });
    });
    cumulative += latency.counts[latencyBucketBounds.length];
    values.push({ metricName: `${name}_bucket`, labels: { channel, le: '+Inf' }, value: cumulative });
    values.push({ metricName: `${name}_sum`, labels: { channel }, value: latency.sum / 1000 });
    values.push({ metricName: `${name}_count`, labels: { channel }, value: cumulative });
    return values;
}

/** `prom-client` when installed (an optional peer dependency), else undefined. */
export function loadPromClient(): typeof PromClient | undefined {
    try {
        return require('prom-client');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes('prom-client')) return undefined;
        throw error;
    }
}
