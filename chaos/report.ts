import { ChaosResult } from './run-chaos';

const n = (value: number) => value.toLocaleString('en-US');
const s = (ms: number | undefined) => ms === undefined ? '-' : (ms / 1000).toFixed(1) + ' s';

/** The run's figures as text: what `npm run chaos` prints. */
export function formatReport(result: ChaosResult): string {
    const a = result.analysis;
    const perKill = Object.entries(a.duplicates.perKill).sort((x, y) => y[1] - x[1]);
    const workerKills = a.kills.workers || 1;
    const lines = [
        `== chaos ${result.backend}: ${result.failures.length ? 'FAILED: ' + result.failures.join('; ') : 'passed'}`,
        `runtime ${s(result.totalMs)} (build ${s(result.buildMs)}, chaos ${s(result.chaosMs)}, drain ${s(result.drainMs)}); producers done at +${s(result.producersMs)}; peak backlog ${n(result.peakBacklog)}`,
        `kills ${a.kills.total} (${a.kills.workers} workers, ${a.kills.producers} producers)` + (result.backend === 'postgres' ? `, server restarts ${result.restarts.length} (${result.restarts.map(v => `${v.endedAt - v.startedAt} ms`).join(', ')})` : ''),
        `produced (ledger) ${n(a.produced)}; produce() rejected ${a.produceRejected}, cut off by a producer kill ${a.produceCutByKill}`,
        `delivered (unique) ${n(a.delivered)}; callbacks started ${n(a.callbacksStarted)}, completed ${n(a.callbacksCompleted)}, cut off by a worker kill ${n(a.cutByKill)}`,
        `lost ${a.lost.length}` + (a.lost.length ? ` (${a.lost.slice(0, 10).join(', ')})` : ''),
        `delivered but not in a ledger ${a.deliveredUnknown.byProducerKill + a.deliveredUnknown.byRejectedDuringRestart + a.deliveredUnknown.unexplained.length}: producer killed while produce() ran ${a.deliveredUnknown.byProducerKill}, produce() rejected during a server restart ${a.deliveredUnknown.byRejectedDuringRestart}, unexplained ${a.deliveredUnknown.unexplained.length}`,
        `duplicates (completed more than once) ${n(a.duplicates.messages)} (${n(a.duplicates.extraCompletions)} extra completions, ${(a.duplicates.messages / workerKills).toFixed(1)} per worker kill): explained by a kill ${a.duplicates.byKill}, by a server restart ${a.duplicates.byRestart}, unexplained ${a.duplicates.unexplained.length}`
            + (a.duplicates.maxSettleGapMs !== undefined ? `; longest completion-to-kill gap ${a.duplicates.maxSettleGapMs} ms (window ${result.options.settleWindow} ms)` : ''),
        `duplicates per kill: ${perKill.length ? perKill.slice(0, 12).map(([name, count]) => `${name} ${count}`).join(', ') + (perKill.length > 12 ? `, ... (${perKill.length} kills in all; report.json has each duplicate)` : '') : 'none'}`,
        `redelivered (started more than once) ${n(a.redelivered.messages)}, unexplained ${a.redelivered.unexplained.length}; stored twice ${a.storedTwice.length}`,
        `failed ${result.finalStats?.failed ?? '?'} (max attempts ${result.options.maxAttempts}, highest attempt seen ${a.maxAttempt}); final stats ${result.finalStats ? `pending ${result.finalStats.pending}, delayed ${result.finalStats.delayed}, in flight ${result.finalStats.inFlight}` : 'unavailable'}`,
    ];
    if (a.consumeRejectedByRestart) lines.push(`workers whose consume() was rejected by a server restart while it registered (exited, started again): ${a.consumeRejectedByRestart}`);
    if (a.unexpectedExits.length) lines.push(`unexpected exits: ${a.unexpectedExits.map(v => `${v.name} (${v.code ?? v.signal})`).join(', ')}`);
    for (const detail of a.duplicates.unexplained.slice(0, 5)) lines.push(`unexplained duplicate ${detail.id}: ${detail.explanations.map(v => v.kind === 'unexplained' ? v.reason : v.kind).join('; ')}`);
    for (const detail of a.redelivered.unexplained.slice(0, 5)) lines.push(`unexplained redelivery ${detail.id}: ${detail.explanations.map(v => v.kind === 'unexplained' ? v.reason : v.kind).join('; ')}`);
    for (const line of a.deliveredUnknown.unexplained.slice(0, 5)) lines.push(`unexplained delivery ${line}`);
    for (const line of result.failedSample) lines.push(`failed message ${line}`);
    if (result.failures.length) lines.push(`run folder kept: ${result.runDir}`);
    return lines.join('\n');
}

export const explanationRule = `A duplicate (or redelivery) is explained when, for each earlier delivery, either its worker was killed by the run before the next delivery started (and within the settle window after the callback completed), or (PostgreSQL) the callback completed within the settle window of a server restart and the next delivery started after the restart began.`;
