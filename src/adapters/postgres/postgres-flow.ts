import { FlowClaimPlan, flowWait, FlowRow, planFlowClaim } from '../../flow/flow-claim';
import { FlowLimits } from '../../storage';
import { PostgresClaimRow } from './postgres-claimed';
import { PostgresClientLike, PostgresQueryResult } from './postgres-driver';
import { PostgresStatementName, PostgresStatements } from './postgres-statements';

export interface PostgresFlowClaim {
    /** The claim statement's row; undefined when the limits left no room to claim. */
    row?: PostgresClaimRow;
    /** The channel's row; undefined when it had none any more (then the claim was not held back). */
    flow?: FlowRow;
    wait: number | undefined | 'messages';
}

/**
 * The claim of a channel with a flow row, on one connection in one transaction: lock the
 * channel's row, count its leases in a statement of its own (READ COMMITTED gives it a snapshot
 * taken after the lock, with the leases of every claim that held it before), claim what the
 * limits leave room for, move the rate window, commit (which releases the lock).
 */
export async function postgresFlowClaim(
    client: PostgresClientLike, statements: PostgresStatements, queryTimeout: number,
    channel: string, consumerId: string, limit: number, lease: number, maxBytes: number,
): Promise<PostgresFlowClaim> {
    const run = (statement: PostgresStatementName, values: unknown[]): Promise<PostgresQueryResult> => {
        const { name, text } = statements[statement];
        return client.query({ name, text, values, query_timeout: queryTimeout });
    };
    await client.query({ text: 'BEGIN' });
    try {
        const stored = (await run('flowLock', [channel])).rows[0];
        let result: PostgresFlowClaim;
        if (!stored) {
            result = { row: (await run('claim', [channel, limit, consumerId, lease, true, maxBytes])).rows[0], wait: 'messages' };
        } else {
            const flow: FlowRow = {
                paused: stored.paused, concurrency: stored.concurrency, rateMax: stored.rate_max, ratePer: stored.rate_per_ms,
                windowStart: stored.window_start, windowCount: stored.window_count,
            };
            const leased = flow.concurrency === null || flow.paused ? 0 : (await run('leasedCount', [channel])).rows[0].n;
            const plan: FlowClaimPlan = planFlowClaim(flow, leased, stored.now, limit);
            const row: PostgresClaimRow | undefined = plan.take > 0 ? (await run('claim', [channel, plan.take, consumerId, lease, true, maxBytes])).rows[0] : undefined;
            const claimed = row?.claimed ?? 0;
            if (flow.rateMax !== null && claimed) await run('flowWindow', [channel, plan.windowStart, plan.windowCount + claimed]);
            result = { row, flow, wait: flowWait(flow, plan, leased, claimed, stored.now) };
        }
        await client.query({ text: 'COMMIT' });
        return result;
    } catch (error) {
        await client.query({ text: 'ROLLBACK' }).catch(() => undefined);
        throw error;
    }
}

export function postgresLimitsOf(row: { concurrency: number | null, rate_max: number | null, rate_per_ms: number | null } | undefined): FlowLimits {
    const limits: FlowLimits = {};
    if (row?.concurrency != null) limits.concurrency = row.concurrency;
    if (row?.rate_max != null && row.rate_per_ms != null) limits.rate = { max: row.rate_max, per: row.rate_per_ms };
    return limits;
}
