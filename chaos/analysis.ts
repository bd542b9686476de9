import { Incarnation } from './fleet';
import { ServerRestart } from './postgres-restart';
import { consumeRejectedExitCode } from './process-config';
import { chaosId, readRecords } from './records';

/** One callback run of a message in one worker incarnation. */
interface Delivery {
    incarnation: Incarnation;
    queueId: string;
    attempt: number;
    start: number;
    complete?: number;
}

/** Why a message was delivered again after `delivery`. */
export type Explanation =
    | { kind: 'kill', incarnation: string, pid: number, killSentAt: number, gapMs?: number }
    | { kind: 'restart', restart: number }
    | { kind: 'unexplained', reason: string };

export interface DuplicateDetail {
    id: string;
    completions: number;
    /** One per earlier delivery that completed: what made it run again. */
    explanations: Explanation[];
}

export interface Analysis {
    kills: { total: number, workers: number, producers: number };
    /** Exited without being killed, finishing or being stopped, and not explained below. */
    unexpectedExits: { name: string, code?: number | null, signal?: string | null }[];
    /** Workers whose consume() the storage rejected within `settleWindow` of a server restart (they were started again). */
    consumeRejectedByRestart: number;
    /** produce() calls that resolved: the ledger's R lines. */
    produced: number;
    produceRejected: number;
    /** S lines without R or E: the producer was killed while the call ran. */
    produceCutByKill: number;
    /** Messages with at least one completed callback. */
    delivered: number;
    callbacksStarted: number;
    callbacksCompleted: number;
    /** Callbacks that had started in a worker when it was killed, and never completed there. */
    cutByKill: number;
    /** The highest `message.attempt` a callback saw: kills cost attempts, also of prefetched messages. */
    maxAttempt: number;
    lost: string[];
    deliveredUnknown: { byProducerKill: number, byRejectedDuringRestart: number, unexplained: string[] };
    duplicates: { messages: number, extraCompletions: number, byKill: number, byRestart: number, unexplained: DuplicateDetail[], perKill: Record<string, number>, maxSettleGapMs?: number };
    /** Messages started more than once (killed mid-callback, or duplicates). */
    redelivered: { messages: number, unexplained: DuplicateDetail[] };
    /** Chaos ids stored as more than one queue message: a produce() stored twice. */
    storedTwice: string[];
    /** Every duplicate with its explanation, for the run folder. */
    details: DuplicateDetail[];
}

/**
 * The explanation rule, for two consecutive deliveries `d` and `next` of one
 * message (ordered by callback start):
 *
 * - kill: d's worker process was killed by the run (kill -9) and
 *   d started before that process was seen to exit, next started after the
 *   kill was sent (never two holders at once), and if d's callback completed,
 *   the kill came at most `settleWindow` after that completion (its result was
 *   still waiting for its group commit, or in it, when the process died).
 * - restart (PostgreSQL): d's callback completed and ran at some point within
 *   `settleWindow` of a server restart (its settlement, or its consumer's
 *   session, was lost to the restart), and next started after the restart began.
 *
 * Anything else is unexplained and fails the run. A message delivered whose
 * produce() is not in a ledger is explained when its producer was killed after
 * writing S (the call was running) or when its produce() was rejected during
 * a server restart (PostgreSQL documents that outcome as unknown).
 */
export function analyse(incarnations: Incarnation[], restarts: ServerRestart[], settleWindow: number): Analysis {
    const killed = (v: Incarnation) => v.killSentAt !== undefined && v.signal === 'SIGKILL';
    const sent = new Map<string, { at: number, incarnation: Incarnation }>();
    const resolved = new Map<string, string>();
    const rejected = new Map<string, number>();
    const deliveries = new Map<string, Delivery[]>();
    let callbacksStarted = 0;
    let callbacksCompleted = 0;
    let cutByKill = 0;
    let maxAttempt = 0;
    const consumeRejectedAt = new Map<Incarnation, number>();

    for (const incarnation of incarnations) {
        const open = new Map<string, Delivery>();
        for (const fields of readRecords(incarnation.file)) {
            if (incarnation.role === 'producer') {
                const id = chaosId(incarnation.name, Number(fields[1]));
                if (fields[0] === 'S') sent.set(id, { at: Number(fields[2]), incarnation });
                else if (fields[0] === 'R') resolved.set(id, fields[2]);
                else if (fields[0] === 'E') rejected.set(id, Number(fields[2]));
            } else if (fields[0] === 'F') {
                consumeRejectedAt.set(incarnation, Number(fields[1]));
            } else if (fields[0] === 'S') {
                const delivery: Delivery = { incarnation, queueId: fields[2], attempt: Number(fields[3]), start: Number(fields[4]) };
                callbacksStarted++;
                maxAttempt = Math.max(maxAttempt, delivery.attempt);
                open.set(fields[1], delivery);
                let list = deliveries.get(fields[1]);
                if (!list) deliveries.set(fields[1], list = []);
                list.push(delivery);
            } else if (fields[0] === 'C') {
                const delivery = open.get(fields[1]);
                if (!delivery) continue;
                callbacksCompleted++;
                delivery.complete = Number(fields[2]);
                open.delete(fields[1]);
            }
        }
        if (incarnation.role === 'worker' && killed(incarnation)) cutByKill += open.size;
    }

    const explain = (d: Delivery, next: Delivery): Explanation => {
        const process = d.incarnation;
        if (killed(process) && d.start <= process.exitedAt! && next.start >= process.killSentAt!) {
            const gapMs = d.complete === undefined ? undefined : process.killSentAt! - d.complete;
            if (gapMs === undefined || gapMs <= settleWindow) return { kind: 'kill', incarnation: process.name, pid: process.pid, killSentAt: process.killSentAt!, gapMs };
        }
        if (d.complete !== undefined) {
            const index = restarts.findIndex(r => d.start <= r.endedAt + settleWindow && d.complete! >= r.startedAt - settleWindow && next.start >= r.startedAt);
            if (index >= 0) return { kind: 'restart', restart: index };
        }
        const holder = killed(process) ? `killed at ${process.killSentAt}, exit seen at ${process.exitedAt}` : 'never killed';
        return { kind: 'unexplained', reason: `delivery to ${process.name} (pid ${process.pid}, ${holder}) started ${d.start}, completed ${d.complete ?? 'never'}; next delivery to ${next.incarnation.name} started ${next.start}` };
    };

    const lost: string[] = [];
    for (const id of resolved.keys()) if (!deliveries.get(id)?.some(v => v.complete !== undefined)) lost.push(id);

    const storedTwice: string[] = [];
    const deliveredUnknown = { byProducerKill: 0, byRejectedDuringRestart: 0, unexplained: [] as string[] };
    const duplicates = { messages: 0, extraCompletions: 0, byKill: 0, byRestart: 0, unexplained: [] as DuplicateDetail[], perKill: {} as Record<string, number>, maxSettleGapMs: undefined as number | undefined };
    const redelivered = { messages: 0, unexplained: [] as DuplicateDetail[] };
    const details: DuplicateDetail[] = [];
    let delivered = 0;

    for (const [id, list] of deliveries) {
        const completions = list.filter(v => v.complete !== undefined).length;
        if (completions) delivered++;
        const queueIds = new Set(list.map(v => v.queueId));
        if (resolved.has(id)) queueIds.add(resolved.get(id)!);
        if (queueIds.size > 1) storedTwice.push(id);

        if (completions && !resolved.has(id)) {
            const producer = sent.get(id);
            const rejectedAt = rejected.get(id);
            if (rejectedAt !== undefined) {
                if (restarts.some(r => rejectedAt >= r.startedAt - settleWindow && rejectedAt <= r.endedAt + settleWindow)) deliveredUnknown.byRejectedDuringRestart++;
                else deliveredUnknown.unexplained.push(`${id}: produce() rejected at ${rejectedAt}, outside any server restart, yet delivered`);
            } else if (producer && killed(producer.incarnation) && producer.at <= producer.incarnation.exitedAt!) {
                deliveredUnknown.byProducerKill++;
            } else {
                deliveredUnknown.unexplained.push(`${id}: delivered, but its producer ${producer ? 'was not killed' : 'never called produce() for it'}`);
            }
        }

        if (list.length < 2) continue;
        redelivered.messages++;
        list.sort((a, b) => a.start - b.start);
        const explanations: Explanation[] = [];
        const ofRedeliveries: Explanation[] = [];
        for (let i = 0; i < list.length - 1; i++) {
            const explanation = explain(list[i], list[i + 1]);
            (list[i].complete !== undefined ? explanations : ofRedeliveries).push(explanation);
        }
        if (ofRedeliveries.some(v => v.kind === 'unexplained')) redelivered.unexplained.push({ id, completions, explanations: ofRedeliveries });
        if (completions < 2) continue;
        const detail = { id, completions, explanations };
        details.push(detail);
        duplicates.messages++;
        duplicates.extraCompletions += completions - 1;
        if (explanations.some(v => v.kind === 'unexplained')) {
            duplicates.unexplained.push(detail);
            continue;
        }
        // A message is counted once, under what explains its first extra completion.
        const first = explanations[0];
        if (first.kind === 'kill') duplicates.byKill++;
        else duplicates.byRestart++;
        for (const explanation of explanations) {
            if (explanation.kind !== 'kill') continue;
            duplicates.perKill[explanation.incarnation] = (duplicates.perKill[explanation.incarnation] ?? 0) + 1;
            if (explanation.gapMs !== undefined) duplicates.maxSettleGapMs = Math.max(duplicates.maxSettleGapMs ?? -Infinity, explanation.gapMs);
        }
    }

    const kills = incarnations.filter(killed);
    const duringRestart = (at: number | undefined) => at !== undefined && restarts.some(r => at >= r.startedAt - settleWindow && at <= r.endedAt + settleWindow);
    const rejectedByRestart = (v: Incarnation) => v.code === consumeRejectedExitCode && duringRestart(consumeRejectedAt.get(v));
    return {
        kills: { total: kills.length, workers: kills.filter(v => v.role === 'worker').length, producers: kills.filter(v => v.role === 'producer').length },
        unexpectedExits: incarnations.filter(v => v.unexpected && !rejectedByRestart(v)).map(v => ({ name: v.name, code: v.code, signal: v.signal })),
        consumeRejectedByRestart: incarnations.filter(v => v.unexpected && rejectedByRestart(v)).length,
        produced: resolved.size,
        produceRejected: rejected.size,
        produceCutByKill: [...sent.keys()].filter(id => !resolved.has(id) && !rejected.has(id)).length,
        delivered,
        callbacksStarted,
        callbacksCompleted,
        cutByKill,
        maxAttempt,
        lost,
        deliveredUnknown,
        duplicates,
        redelivered,
        storedTwice,
        details,
    };
}
