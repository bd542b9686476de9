/** The env knobs of every scenario, read once. */
function numberFromEnv(name: string, fallback: number): number {
    const value = process.env[name];
    if (value === undefined || value === '') return fallback;
    const parsed = Number(value);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(value)}`);
    return parsed;
}

export const settings = {
    /** Messages per throughput measurement. */
    count: numberFromEnv('BENCH_COUNT', 20_000),
    repeat: numberFromEnv('BENCH_REPEAT', 3),
    /** Sequential awaited produce is one commit per message: fewer messages keep the slow systems within budget. */
    sequential: numberFromEnv('BENCH_SEQUENTIAL', 2_000),
    producers: numberFromEnv('BENCH_PRODUCERS', 64),
    bulkSize: numberFromEnv('BENCH_BULK_SIZE', 1_000),
    /** A drain stops after this long and reports the rate of what it did, so a slow peer cannot stall the run. */
    drainSeconds: numberFromEnv('BENCH_DRAIN_SECONDS', 10),
    latencyCount: numberFromEnv('BENCH_LATENCY', 500),
    latencyGap: numberFromEnv('BENCH_LATENCY_GAP_MS', 5),
    idleSeconds: numberFromEnv('BENCH_IDLE_SECONDS', 10),
    /** Idle time before the CPU window: start-up work (JIT, GC of module loading) is not idling. */
    idleWarmupSeconds: numberFromEnv('BENCH_IDLE_WARMUP', 20),
    backlogSmall: numberFromEnv('BENCH_BACKLOG_SMALL', 10_000),
    /** The issue asks for 1,000,000; the default keeps the run within minutes on a 2-core machine. */
    backlog: numberFromEnv('BENCH_BACKLOG', 200_000),
    /** Messages claimed at each backlog size to measure the claim rate. */
    backlogClaims: numberFromEnv('BENCH_BACKLOG_CLAIMS', 5_000),
    /** `npm run bench:drain-backlog`: messages pre-filled and all drained by one worker. */
    drainBacklog: numberFromEnv('BENCH_DRAIN_BACKLOG', 1_000_000),
    /** `npm run bench`'s full drain: the worker's peak RSS draining this many. */
    rssDrain: numberFromEnv('BENCH_RSS_DRAIN', 100_000),
    /** Its time cap: long enough for a full drain of ours at a few thousand msg/s. */
    drainBacklogSeconds: numberFromEnv('BENCH_DRAIN_BACKLOG_SECONDS', 300),
    /** `bench:crash`: how long after the kill the second worker may take to handle what is left. */
    crashWaitSeconds: numberFromEnv('BENCH_CRASH_WAIT_SECONDS', 45),
    /** `bench:crash`: how long each handler takes (0 is allowed: instant handlers). */
    crashHandlerMs: Number(process.env.BENCH_CRASH_HANDLER_MS ?? 2),
    /** A commit: our systems also run on its code, as `<name>@base`, side by side (bench/lib/base-library.ts). */
    base: process.env.BENCH_BASE || undefined,
    postgresUrl: process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres',
    redisHost: process.env.BENCH_REDIS_HOST || '127.0.0.1',
    redisPort: numberFromEnv('BENCH_REDIS_PORT', 6379),
    /** pg-boss fetches this many jobs per poll (`batchSize`); see the pg-boss driver. */
    pgBossBatch: numberFromEnv('BENCH_PGBOSS_BATCH', 100),
    /** pg-boss `pollingIntervalSeconds`: its documented minimum is 0.5, the default 2. */
    pgBossPoll: numberFromEnv('BENCH_PGBOSS_POLL_SECONDS', 0.5),
};
