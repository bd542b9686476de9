import { FlowClaimPlan, flowWait, FlowRow, planFlowClaim } from '../../flow/flow-claim';
import { FlowLimits } from '../../storage';
import { SqliteStatements } from './sqlite-statements';

interface SqliteFlowRow {
    paused: number;
    concurrency: number | null;
    rate_max: number | null;
    rate_per_ms: number | null;
    window_start: number | null;
    window_count: number;
}

export interface SqliteFlowClaim<R> {
    rows: R[];
    /** The channel's row, undefined for a channel without limits and not paused (the fast path). */
    flow?: FlowRow;
    wait?: number | undefined | 'messages';
}

function flowRowOf(row: SqliteFlowRow): FlowRow {
    return {
        paused: row.paused !== 0, concurrency: row.concurrency, rateMax: row.rate_max, ratePer: row.rate_per_ms,
        windowStart: row.window_start, windowCount: row.window_count,
    };
}

export function limitsOf(row: SqliteFlowRow | undefined): FlowLimits {
    const limits: FlowLimits = {};
    if (row?.concurrency != null) limits.concurrency = row.concurrency;
    if (row?.rate_max != null && row.rate_per_ms != null) limits.rate = { max: row.rate_max, per: row.rate_per_ms };
    return limits;
}

/**
 * Inside the claim's write transaction (SQLite has one writer, so nobody else claims meanwhile):
 * no row, the claim as it is; otherwise at most what the channel's pause and limits allow.
 */
export function sqliteFlowClaim<R>(s: SqliteStatements, channel: string, now: number, limit: number, claim: (limit: number) => R[]): SqliteFlowClaim<R> {
    const stored = s.flowGet.get(channel) as SqliteFlowRow | undefined;
    if (!stored) return { rows: claim(limit) };
    const flow = flowRowOf(stored);
    const leased = flow.concurrency === null ? 0 : (s.leasedCount.get(channel) as { n: number }).n;
    const plan: FlowClaimPlan = planFlowClaim(flow, leased, now, limit);
    const rows = plan.take > 0 ? claim(plan.take) : [];
    if (flow.rateMax !== null && rows.length) s.flowWindow.run(plan.windowStart, plan.windowCount + rows.length, channel);
    return { rows, flow, wait: flowWait(flow, plan, leased, rows.length, now) };
}

/** Stores the limits and returns the ones stored before. */
export function sqliteDeclareFlow(s: SqliteStatements, channel: string, limits: FlowLimits): FlowLimits {
    const before = limitsOf(s.flowGet.get(channel) as SqliteFlowRow | undefined);
    s.flowDeclare.run(channel, limits.concurrency ?? null, limits.rate?.max ?? null, limits.rate?.per ?? null);
    s.flowDropIdle.run(channel);
    return before;
}

export function sqliteSetPaused(s: SqliteStatements, channel: string, paused: boolean): void {
    s.flowPause.run(channel, paused ? 1 : 0);
    s.flowDropIdle.run(channel);
}
