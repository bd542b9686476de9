/**
 * consume(..., { database }) in real worker processes, killed with kill -9
 * before and right after their commit, on both backends: the callback's rows
 * exist exactly once per message, whatever is killed when.
 */
import { Database } from '@deepkit/orm';
import { BrokerQueue } from '../../src';
import { Backend, Effect, Job } from '../fixtures/orm-app';
import { Child } from '../support/child';
import { AppQueue, killChildren, openAppQueue } from '../support/orm-queue';
import { describePostgres } from '../support/postgres';
import { createTestDatabase } from '../support/postgres-database';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';

const worker = 'tests/fixtures/orm-worker.ts';
// A worker needs seconds to start (ts-node, the ORM), far more on a loaded machine.
const startup = 180_000;

function processSuite(backend: Backend, open: () => Promise<{ target: string, cleanup(): Promise<void> }>) {
    describe(`${backend}: consume(..., { database }) in processes killed with kill -9`, () => {
        let target: string;
        let cleanupTarget: () => Promise<void>;
        let database: Database;
        let queue: BrokerQueue;
        let children: Child[] = [];
        let app: AppQueue;

        function start(mode: string, env: Record<string, string> = {}, maxParallel = 1): Child {
            const child = new Child(worker, [backend, target, mode, String(maxParallel)], env);
            children.push(child);
            return child;
        }

        async function effects(): Promise<Map<number, number>> {
            const counts = new Map<number, number>();
            for (const row of await database.query(Effect).find()) counts.set(row.n, (counts.get(row.n) ?? 0) + 1);
            return counts;
        }

        async function settled(count: number): Promise<void> {
            await waitFor(async () => {
                const [stats] = await queue.stats('jobs');
                return stats.doneLastHour === count && stats.pending + stats.delayed + stats.inFlight + stats.failed === 0;
            }, `all ${count} messages done`, 240_000, 50);
        }

        beforeEach(async () => {
            ({ target, cleanup: cleanupTarget } = await open());
            children = [];
            app = await openAppQueue(backend, target);
            ({ database, queue } = app);
        });

        afterEach(async () => {
            await killChildren(children);
            await app.close();
            await cleanupTarget();
        });

        jest.setTimeout(600_000);

        test('killed after its writes, before the commit: nothing of it stays, the message is delivered again, the rows exist once', async () => {
            const doomed = start('hang');
            await doomed.waitForLine('ready', startup);
            const { id } = await queue.channel<Job>('jobs').produce({ n: 1 });
            await doomed.waitForLine(`wrote ${id} 1 1`, 60_000);
            doomed.kill('SIGKILL');
            await doomed.exited;
            expect(await effects()).toEqual(new Map());

            const rescuer = start('effects');
            // The killed delivery's start was not recorded, so it used no attempt (see Guarantees).
            await rescuer.waitForLine(`wrote ${id} 1 1`, startup);
            await settled(1);
            expect(await effects()).toEqual(new Map([[1, 1]]));
        });

        test('killed right after the commit: the message is never delivered again, the rows exist once', async () => {
            const doomed = start('freeze-after-commit');
            await doomed.waitForLine('ready', startup);
            const channel = queue.channel<Job>('jobs');
            const { id } = await channel.produce({ n: 1 });
            await doomed.waitForLine(`committed ${id}`, 60_000);
            doomed.kill('SIGKILL');
            await doomed.exited;
            // The ack committed with the rows: nothing is left leased to the dead worker.
            expect((await queue.stats('jobs'))[0]).toMatchObject({ pending: 0, inFlight: 0, doneLastHour: 1 });

            const next = start('effects');
            await next.waitForLine('ready', startup);
            const marker = await channel.produce({ n: 2 });
            await next.waitForLine(`wrote ${marker.id} 2 1`, 60_000);
            await settled(2);
            expect(next.lines.filter(line => line.startsWith(`wrote ${id} `))).toEqual([]);
            expect(await effects()).toEqual(new Map([[1, 1], [2, 1]]));
        });

        test('a loop of kills across several workers: every message\'s rows exist exactly once', async () => {
            const count = 300;
            const env = { EFFECT_DELAY_MS: '3', MAX_ATTEMPTS: '100' };
            let serial = 0;
            const spawn = () => start('effects', { ...env, WORKER_NAME: `w${++serial}` }, 2);
            const live = [spawn(), spawn(), spawn()];
            await Promise.all(live.map(v => v.waitForLine('ready', startup)));
            await queue.channel<Job>('jobs').produceMany(Array.from({ length: count }, (_, n) => ({ n })));

            // Kill the worker that has just written (it is inside its transaction, or just past its
            // commit), every 15 effects written overall; start a fresh one in its place.
            let kills = 0;
            const seen = new Map<Child, number>();
            let latest: Child | undefined;
            const written = () => {
                let sum = 0;
                for (const child of children) {
                    const lines = child.lines.filter(line => line.startsWith('wrote ')).length;
                    if (lines > (seen.get(child) ?? 0)) latest = child;
                    seen.set(child, lines);
                    sum += lines;
                }
                return sum;
            };
            while (kills < 12) {
                const threshold = (kills + 1) * 15;
                await waitFor(() => written() >= threshold, `${threshold} effects written`, 240_000, 2);
                const victim = latest && live.includes(latest) ? latest : live[kills % live.length];
                victim.kill('SIGKILL');
                kills++;
                live.splice(live.indexOf(victim), 1);
                live.push(spawn());
            }
            await settled(count);
            const counts = await effects();
            const missing = Array.from({ length: count }, (_, n) => n).filter(n => !counts.has(n));
            const doubled = [...counts].filter(([, times]) => times > 1);
            expect({ missing, doubled, kills }).toEqual({ missing: [], doubled: [], kills: 12 });
        }, 600_000);
    });
}

processSuite('sqlite', async () => {
    const dir = tempDir();
    return { target: dir.file('app.sqlite'), cleanup: async () => dir.remove() };
});

describePostgres('postgres ORM processes', () => {
    processSuite('postgres', async () => {
        const db = await createTestDatabase();
        return { target: db.url, cleanup: db.drop };
    });
});
