/**
 * The fixed buckets in which storage records queue latency per channel and
 * minute: the time from a message becoming available (produced, or its delay
 * or backoff over) to a worker claiming it. Fixed, so that minutes and
 * processes add up by summing counts; changing them needs a migration.
 */
export const latencyBucketBounds: readonly number[] = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000];

/** Counts per bucket: `counts[i]` for `latency <= latencyBucketBounds[i]` and above the previous bound; the last entry is above every bound. */
export interface LatencyCounts {
    /** Sum of all latencies, in milliseconds. */
    sum: number;
    counts: number[];
}

/** Number of stored bucket columns: one per bound plus the overflow. */
export const latencyBucketCount = latencyBucketBounds.length + 1;

export function emptyLatency(): LatencyCounts {
    return { sum: 0, counts: new Array(latencyBucketCount).fill(0) };
}

export function latencyBucket(ms: number): number {
    for (let i = 0; i < latencyBucketBounds.length; i++) if (ms <= latencyBucketBounds[i]) return i;
    return latencyBucketBounds.length;
}

export function addLatency(target: LatencyCounts, source: LatencyCounts): LatencyCounts {
    target.sum += source.sum;
    for (let i = 0; i < latencyBucketCount; i++) target.counts[i] += source.counts[i] ?? 0;
    return target;
}

export function latencyTotal(latency: LatencyCounts): number {
    return latency.counts.reduce((sum, n) => sum + n, 0);
}

/**
 * The `q` quantile (0..1) in milliseconds, interpolated linearly inside its
 * bucket, as Prometheus' histogram_quantile does; undefined without samples.
 * Above the last bound it answers that bound: the buckets cannot tell more.
 */
export function latencyQuantile(latency: LatencyCounts, q: number): number | undefined {
    const total = latencyTotal(latency);
    if (!total) return undefined;
    const rank = q * total;
    let seen = 0;
    for (let i = 0; i < latencyBucketCount; i++) {
        const count = latency.counts[i];
        if (seen + count >= rank && count > 0) {
            if (i === latencyBucketBounds.length) return latencyBucketBounds[i - 1];
            const lower = i === 0 ? 0 : latencyBucketBounds[i - 1];
            return lower + (latencyBucketBounds[i] - lower) * ((rank - seen) / count);
        }
        seen += count;
    }
    return latencyBucketBounds[latencyBucketBounds.length - 1];
}

/** Column names of the buckets in both SQL schemas: l0 ... l16. */
export const latencyColumns: readonly string[] = Array.from({ length: latencyBucketCount }, (_, i) => `l${i}`);
