/**
 * The chaos run's accounting (chaos/analysis.ts) on hand-written ledgers and
 * logs: it must catch a lost message and a duplicate that no kill or restart
 * explains, or the chaos run would pass whatever happened.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { analyse } from '../../chaos/analysis';
import { ChaosRole, Incarnation } from '../../chaos/fleet';
import { ServerRestart } from '../../chaos/postgres-restart';

const settleWindow = 1000;
let dir: string;
beforeEach(() => dir = mkdtempSync(join(tmpdir(), 'chaos-analysis-')));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let nextPid = 100;

/** An incarnation with its log; `killed` is [killSentAt, exitedAt]; otherwise it exited cleanly. */
function incarnation(name: string, lines: string[], killed?: [number, number]): Incarnation {
    const role: ChaosRole = name.startsWith('p') ? 'producer' : 'worker';
    const file = join(dir, name + '.log');
    writeFileSync(file, lines.map(v => v + '\n').join(''));
    return {
        name, role, slot: Number(name[1]), pid: nextPid++, file, stderrFile: '', spawnedAt: 0,
        killSentAt: killed?.[0], exitedAt: killed?.[1] ?? 100_000, code: killed ? null : 0, signal: killed ? 'SIGKILL' : null,
        unexpected: false, exited: Promise.resolve(),
    };
}

const producer = (...seqs: number[]) => incarnation('p0.0', seqs.flatMap(seq => [`S ${seq} 10`, `R ${seq} q${seq} 11`]));

test('every resolved message completed once: nothing lost, no duplicate', () => {
    const a = analyse([producer(0, 1), incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21', 'S p0.0:1 q1 1 22', 'C p0.0:1 23'])], [], settleWindow);
    expect(a).toMatchObject({ produced: 2, delivered: 2, lost: [], storedTwice: [], duplicates: { messages: 0 } });
});

test('a resolved message that never completed is lost, also when a callback started', () => {
    const a = analyse([producer(0, 1), incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21', 'S p0.0:1 q1 1 22'], [30, 31])], [], settleWindow);
    expect(a.lost).toEqual(['p0.0:1']);
    expect(a.cutByKill).toBe(1);
});

test('completed twice after its first worker was killed: a duplicate explained by that kill', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21'], [150, 160]),
        incarnation('w1.0', ['S p0.0:0 q0 2 1200', 'C p0.0:0 1201']),
    ], [], settleWindow);
    expect(a.duplicates).toMatchObject({ messages: 1, extraCompletions: 1, byKill: 1, unexplained: [], perKill: { 'w0.0': 1 }, maxSettleGapMs: 129 });
    expect(a.details[0].explanations).toEqual([expect.objectContaining({ kind: 'kill', incarnation: 'w0.0', killSentAt: 150 })]);
});

test('completed twice while its first worker lived on: unexplained', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21']),
        incarnation('w1.0', ['S p0.0:0 q0 2 1200', 'C p0.0:0 1201']),
    ], [], settleWindow);
    expect(a.duplicates.unexplained).toHaveLength(1);
    expect(a.duplicates.unexplained[0].explanations[0]).toMatchObject({ kind: 'unexplained', reason: expect.stringContaining('never killed') });
});

test('delivered again before the kill was sent (two holders at once): unexplained', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21'], [150, 160]),
        incarnation('w1.0', ['S p0.0:0 q0 2 140', 'C p0.0:0 141']),
    ], [], settleWindow);
    expect(a.duplicates.unexplained).toHaveLength(1);
});

test('killed long after the callback completed (its result had time to commit): unexplained', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21'], [5000, 5001]),
        incarnation('w1.0', ['S p0.0:0 q0 2 6000', 'C p0.0:0 6001']),
    ], [], settleWindow);
    expect(a.duplicates.unexplained).toHaveLength(1);
});

test('killed in the middle of the callback: a redelivery, explained, not a duplicate', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20'], [150, 160]),
        incarnation('w1.0', ['S p0.0:0 q0 2 1200', 'C p0.0:0 1201']),
    ], [], settleWindow);
    expect(a).toMatchObject({ lost: [], duplicates: { messages: 0 }, redelivered: { messages: 1, unexplained: [] } });
});

test('a callback that started in a worker that was never killed and never completed there: unexplained redelivery', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20']),
        incarnation('w1.0', ['S p0.0:0 q0 2 1200', 'C p0.0:0 1201']),
    ], [], settleWindow);
    expect(a.redelivered.unexplained).toHaveLength(1);
});

test('completed twice around a PostgreSQL restart: explained by the restart', () => {
    const restarts: ServerRestart[] = [{ lockWaitMs: 0, startedAt: 5100, endedAt: 6000 }];
    const workers = [
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 5000', 'C p0.0:0 5001']),
        incarnation('w1.0', ['S p0.0:0 q0 2 7000', 'C p0.0:0 7001']),
    ];
    expect(analyse(workers, restarts, settleWindow).duplicates).toMatchObject({ messages: 1, byRestart: 1, unexplained: [] });
    expect(analyse(workers, [], settleWindow).duplicates.unexplained).toHaveLength(1);
});

test('delivered without a ledger entry: explained only by a kill of its producer while produce() ran', () => {
    const worker = incarnation('w0.0', ['S p0.0:1 q1 1 20', 'C p0.0:1 21']);
    const killedProducer = incarnation('p0.0', ['S 0 10', 'R 0 q0 11', 'S 1 12'], [13, 14]);
    expect(analyse([killedProducer, worker], [], settleWindow).deliveredUnknown).toEqual({ byProducerKill: 1, byRejectedDuringRestart: 0, unexplained: [] });
    const liveProducer = incarnation('p0.0', ['S 0 10', 'R 0 q0 11', 'S 1 12']);
    expect(analyse([liveProducer, worker], [], settleWindow).deliveredUnknown.unexplained).toHaveLength(1);
});

test('one chaos id under two queue ids: stored twice', () => {
    const a = analyse([
        producer(0),
        incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21'], [30, 31]),
        incarnation('w1.0', ['S p0.0:0 q9 1 40', 'C p0.0:0 41']),
    ], [], settleWindow);
    expect(a.storedTwice).toEqual(['p0.0:0']);
});

test('a last line cut off by the kill is ignored', () => {
    const worker = incarnation('w0.0', ['S p0.0:0 q0 1 20', 'C p0.0:0 21'], [30, 31]);
    writeFileSync(worker.file, 'S p0.0:0 q0 1 20\nC p0.0:0 21\nS p0.0:1 q', { flag: 'w' });
    expect(analyse([producer(0), worker], [], settleWindow)).toMatchObject({ callbacksStarted: 1, lost: [] });
});

test('a worker whose consume() the storage rejected: explained only during a server restart', () => {
    const worker = { ...incarnation('w0.0', ['W w0.0 1 5400', 'F 5500 57P01']), code: 3, unexpected: true };
    const restarts: ServerRestart[] = [{ lockWaitMs: 0, startedAt: 5100, endedAt: 6000 }];
    expect(analyse([producer(), worker], restarts, settleWindow)).toMatchObject({ consumeRejectedByRestart: 1, unexpectedExits: [] });
    expect(analyse([producer(), worker], [], settleWindow)).toMatchObject({ consumeRejectedByRestart: 0, unexpectedExits: [{ name: 'w0.0', code: 3 }] });
});
