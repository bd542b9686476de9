/**
 * Flow control across real processes, on both adapters: three worker processes share one
 * channel; what they run is measured from the callbacks' own start/end lines.
 */
import { BrokerQueue, PostgresQueueAdapter, QueueStorage, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';
import { StorageLocation } from '../support/storage-location';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';

interface Run { id: string, start: number, end?: number, child: number }

/** Callback runs from the children's lines, by message id and start. */
function runsOf(children: Child[]): Run[] {
    const runs: Run[] = [];
    children.forEach((child, index) => {
        const open = new Map<string, Run>();
        for (const line of child.lines) {
            const [word, id, at] = line.split(' ');
            if (word === 'start') {
                const run = { id, start: Number(at), child: index };
                open.set(id, run);
                runs.push(run);
            } else if (word === 'end') {
                open.get(id)!.end = Number(at);
            }
        }
    });
    return runs.sort((a, b) => a.start - b.start);
}

/** The most callbacks running at once (an end and a start at the same ms do not overlap). */
function mostAtOnce(runs: Run[]): number {
    const events = runs.flatMap(v => [{ at: v.start, d: 1 }, { at: v.end ?? Infinity, d: -1 }]).sort((a, b) => a.at - b.at || a.d - b.d);
    let now = 0, most = 0;
    for (const event of events) most = Math.max(most, now += event.d);
    return most;
}

function flowProcessSuite(name: string, setup: () => Promise<{ location: StorageLocation, storage: QueueStorage, cleanup: () => Promise<void> | void }>): void {
    describe(`flow control across processes: ${name}`, () => {
        let queue: BrokerQueue;
        let location: StorageLocation;
        let cleanup: () => Promise<void> | void;
        let children: Child[] = [];

        beforeEach(async () => {
            const fixture = await setup();
            location = fixture.location;
            cleanup = fixture.cleanup;
            queue = new BrokerQueue(fixture.storage, { logger: new MemoryLogger(), pollInterval: 100, reclaimInterval: 100 });
            await queue.connect();
            children = [];
        });

        afterEach(async () => {
            for (const child of children) child.kill();
            await Promise.all(children.map(v => v.exited));
            await queue.close();
            await cleanup();
        });

        async function workers(count: number, options: object, callbackMs: number): Promise<Child[]> {
            children = Array.from({ length: count }, () => new Child('tests/fixtures/flow-worker.ts', [JSON.stringify(location), 'f', JSON.stringify(options), String(callbackMs)]));
            await Promise.all(children.map(v => v.waitForLine('ready', 60_000)));
            return children;
        }

        const ended = (count: number) => waitFor(() => runsOf(children).filter(v => v.end !== undefined).length >= count, `${count} callbacks to end`, 60_000, 20);

        test('concurrency: 2 — never more than 2 callbacks at once across three processes', async () => {
            // One callback per process: three could run at once, so two at most is the global bound at work, and two at
            // once means two processes ran together. (With maxParallel above the bound, one process that frees a slot
            // may claim again before the others wake, and legitimately run every callback itself.)
            await workers(3, { maxParallel: 1, concurrency: 2 }, 150);
            await queue.channel<number>('f').produceMany(Array.from({ length: 12 }, (_, i) => i));
            await ended(12);
            const runs = runsOf(children);
            expect(runs.length).toBe(12);
            expect(mostAtOnce(runs)).toBe(2);
            expect(new Set(runs.map(v => v.child)).size).toBeGreaterThan(1);
        }, 120_000);

        test('rateLimit { max: 3, per: 600ms } — at most 3 starts per window across three processes', async () => {
            const per = 600, max = 3;
            await workers(3, { maxParallel: 5, rateLimit: { max, per: `${per}ms` } }, 10);
            await queue.channel<number>('f').produceMany(Array.from({ length: 12 }, (_, i) => i));
            await ended(12);
            const starts = runsOf(children).map(v => v.start);
            expect(starts.length).toBe(12);
            // Fixed windows open at a claim; the workers claim at the window's start, so the starts of a
            // window lie well within `per` of each other. Any span a little shorter than the window holds at most `max`.
            const span = per - 100;
            const most = Math.max(...starts.map(s => starts.filter(t => t >= s && t < s + span).length));
            if (process.env.FLOW_DEBUG) console.log(children.map(c => c.lines.join('\n')).join('\n----\n'));
            expect(most).toBe(max);
            expect(starts[11] - starts[0]).toBeGreaterThanOrEqual(3 * per - 100);
        }, 120_000);

        test('pause stops new deliveries in every process, survives kill -9 of a paused worker, resume restarts them at once', async () => {
            await workers(3, { maxParallel: 2, prefetch: 0 }, 300);
            const channel = queue.channel<number>('f');
            const produced = (await channel.produceMany(Array.from({ length: 6 }, (_, i) => i))).map(v => v.id);
            // Every worker runs a callback, then the channel is paused while they run.
            await waitFor(() => children.every(child => child.lines.some(v => v.startsWith('start '))), 'a callback in every worker', 30_000, 10);
            await queue.pause('f');
            // A paused worker dies with its callback running: its lease comes back, and stays undelivered.
            const [victim, ...alive] = children;
            victim.kill('SIGKILL');
            await victim.exited;
            // New produces wake the live workers: each claims and gets nothing.
            const marks = alive.map(v => v.lines.length);
            const producedWhilePaused = (await channel.produceMany(Array.from({ length: 4 }, (_, i) => 10 + i))).map(v => v.id);
            produced.push(...producedWhilePaused);
            await waitFor(() => alive.every((child, i) => child.lines.slice(marks[i]).some(v => v === 'claimed 0' || v.startsWith('claimed 0 '))), 'the live workers to claim nothing', 30_000, 10);
            await waitFor(async () => (await queue.stats('f'))[0].inFlight === 0, 'running callbacks to finish and the dead lease to come back', 30_000, 20);
            const [paused] = await queue.stats('f');
            expect(paused.paused).toBe(true);
            // Nothing new was delivered: no message produced while paused started, and the dead worker's message did
            // not run again. (Messages claimed before the pause may still have started after it: a worker had
            // claimed both of its slots at once.)
            const whilePaused = runsOf(children);
            expect(whilePaused.filter(v => producedWhilePaused.includes(v.id))).toEqual([]);
            expect(whilePaused.length).toBe(new Set(whilePaused.map(v => v.id)).size);
            expect(paused.pending).toBeGreaterThanOrEqual(4);
            // Resume: a live worker starts a callback within milliseconds (woken, not polled: their poll interval is 5s).
            const resumed = Date.now();
            await queue.resume('f');
            const first = await Promise.race(alive.map((child, i) => child.waitForLine(line => line.startsWith('start ') && child.lines.indexOf(line) >= marks[i], 10_000)));
            expect(Number(first.split(' ')[2]) - resumed).toBeLessThan(1000);
            // Nothing lost: every produced message ends done, the dead worker's included.
            await waitFor(async () => {
                const [stats] = await queue.stats('f');
                return stats.pending === 0 && stats.inFlight === 0 && stats.delayed === 0;
            }, 'the channel to drain', 60_000, 20);
            const endedIds = new Set(runsOf(alive).filter(v => v.end !== undefined).map(v => v.id));
            const victimEnded = new Set(runsOf([victim]).filter(v => v.end !== undefined).map(v => v.id));
            expect(produced.filter(id => !endedIds.has(id) && !victimEnded.has(id))).toEqual([]);
            expect((await queue.stats('f'))[0].failed).toBe(0);
        }, 120_000);
    });
}

flowProcessSuite('sqlite', async () => {
    const dir = tempDir();
    const path = dir.file('queue.sqlite');
    return { location: { kind: 'sqlite', path }, storage: new SqliteQueueAdapter({ path }), cleanup: dir.remove };
});

describePostgres('postgres', () => {
    flowProcessSuite('postgres', async () => {
        const schema = testSchema();
        return {
            location: { kind: 'postgres', connectionString: postgresUrl, schema },
            storage: new PostgresQueueAdapter({ connectionString: postgresUrl, schema }),
            cleanup: () => dropSchema(schema),
        };
    });
});
