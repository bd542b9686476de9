/**
 * How many messages a claim of a channel with limits or a pause may take. Shared by
 * the adapters, which run it inside the claim's transaction while they hold the
 * channel's row (SQLite: its single writer; PostgreSQL: the row locked FOR UPDATE),
 * with the leased count read after taking it: two claims never both see room.
 *
 * The rate limit uses fixed windows: a window opens at the first claim that takes a message
 * after the previous window ended, and lasts `per` ms; claims in it take at most `max` messages.
 * The adapters store the window only when a claim took something: an empty claim opens none.
 */

/** A channel's row of queue_channels, as the adapters read it. */
export interface FlowRow {
    paused: boolean;
    concurrency: number | null;
    rateMax: number | null;
    ratePer: number | null;
    /** Epoch ms the current window opened; null before the first. */
    windowStart: number | null;
    windowCount: number;
}

export interface FlowClaimPlan {
    /** Messages to claim now, at most the consumer's `limit`. */
    take: number;
    /** The window to store after the claim: add what was claimed to `windowCount`. */
    windowStart: number | null;
    windowCount: number;
}

export function planFlowClaim(row: FlowRow, leased: number, now: number, limit: number): FlowClaimPlan {
    let windowStart = row.windowStart, windowCount = row.windowCount;
    if (row.paused) return { take: 0, windowStart, windowCount };
    let take = limit;
    if (row.concurrency !== null) take = Math.min(take, Math.max(0, row.concurrency - leased));
    if (row.rateMax !== null && row.ratePer !== null) {
        if (windowStart === null || now >= windowStart + row.ratePer) {
            windowStart = now;
            windowCount = 0;
        }
        take = Math.min(take, Math.max(0, row.rateMax - windowCount));
    }
    return { take, windowStart, windowCount };
}

/**
 * What the consumer should wait for after this claim, for `nextAvailableIn()`: undefined when
 * only a wake-up can help (paused: resume wakes; all slots leased: a settlement wakes), the ms
 * until the window ends when the rate is used up, or 'messages' when the limits left room.
 */
export function flowWait(row: FlowRow, plan: FlowClaimPlan, leased: number, claimed: number, now: number): number | undefined | 'messages' {
    if (row.paused) return undefined;
    if (row.rateMax !== null && row.ratePer !== null && plan.windowCount + claimed >= row.rateMax) return Math.max(1, plan.windowStart! + row.ratePer - now);
    if (row.concurrency !== null && leased + claimed >= row.concurrency) return undefined;
    return 'messages';
}
