/**
 * The schedule part of the storage conformance suite: every adapter runs it unchanged, from
 * its conformance spec, with the same factory as `storageConformanceSuite`. The contract's
 * schedule operations directly, then the queue's schedules on top of them.
 */
import {
    BrokerQueue, BrokerQueueMessage, BrokerQueueOptions, parseScheduleOptions, QueueOptionError, QueueStorage,
    QueueValidationError, ScheduleOptions, serializeScheduleOptions,
} from '../src';
import { typeOf } from '@deepkit/type';
import { MessageCodec } from '../src/codec';
import { MemoryLogger } from './support/logger';
import { waitFor } from './support/wait';
import type { StorageFixture } from './storage-suite';

type Report = { kind: string, since: Date };

const hour = 3_600_000;
const report = (kind: string): Report => ({ kind, since: new Date(1_700_000_000_000) });

export function scheduleConformanceSuite(name: string, factory: () => Promise<StorageFixture>): void {
    describe(`schedule conformance: ${name}`, () => {
        let fixture: StorageFixture;
        let storage: QueueStorage;
        let queue: BrokerQueue;
        let logger: MemoryLogger;

        function makeQueue(options: BrokerQueueOptions = {}): BrokerQueue {
            return new BrokerQueue(storage, { logger, pollInterval: 50, reclaimInterval: 100, ...options });
        }

        beforeEach(async () => {
            fixture = await factory();
            storage = fixture.storage;
            logger = new MemoryLogger();
            queue = makeQueue();
            await queue.connect();
        });

        afterEach(async () => {
            await queue.close();
            await fixture.cleanup?.();
        });

        /** A schedule as src/schedule stores it, with a next run of our choosing (in the past: a downtime). */
        function upsert(key: string, options: ScheduleOptions, nextRunAt: number, payload = new Uint8Array([1, 2, 3]), channel = 'reports') {
            return storage.upsertSchedule({ channel, key, ...serializeScheduleOptions(parseScheduleOptions(options)), payload, maxAttempts: 3, nextRunAt });
        }

        /** Collects messages of a channel as they arrive. */
        async function collect(channel = 'reports') {
            const messages: BrokerQueueMessage<Report>[] = [];
            const release = await queue.channel<Report>(channel).consume((_, message) => void messages.push(message));
            return { messages, release };
        }

        test('upsert: same timing keeps the next run and replaces the rest; another timing takes the new one', async () => {
            const now = await storage.clock();
            expect(Math.abs(now - Date.now())).toBeLessThan(60_000);
            const created = await upsert('a', { every: '1h' }, now + hour);
            expect(created).toEqual({ channel: 'reports', key: 'a', spec: expect.any(String), nextRunAt: now + hour, revision: expect.any(Number), updatedAt: expect.any(Number) });
            expect(created.lastRunAt).toBeUndefined();

            const sameTiming = await upsert('a', { every: '1h', catchUp: 'none' }, now + 2 * hour);
            expect(sameTiming.nextRunAt).toBe(now + hour);
            expect(JSON.parse(sameTiming.spec).catchUp).toBe('none');
            expect(sameTiming.revision).not.toBe(created.revision);

            const newTiming = await upsert('a', { every: '2h' }, now + 2 * hour);
            expect(newTiming.nextRunAt).toBe(now + 2 * hour);
            expect(await storage.listSchedules()).toEqual([newTiming]);
        });

        test('list by channel and key, remove', async () => {
            const now = await storage.clock();
            await upsert('b', { every: '1h' }, now + hour, undefined, 'x');
            await upsert('a', { every: '1h' }, now + hour, undefined, 'x');
            await upsert('a', { every: '1h' }, now + hour, undefined, 'w');
            expect((await storage.listSchedules()).map(v => `${v.channel}/${v.key}`)).toEqual(['w/a', 'x/a', 'x/b']);
            expect((await storage.listSchedules('x')).map(v => v.key)).toEqual(['a', 'b']);
            expect(await storage.removeSchedule('x', 'a')).toBe(true);
            expect(await storage.removeSchedule('x', 'a')).toBe(false);
            expect((await storage.listSchedules()).map(v => `${v.channel}/${v.key}`)).toEqual(['w/a', 'x/b']);
        });

        test('dueSchedules: due ones earliest first, up to the limit, and when the next is due', async () => {
            const now = await storage.clock();
            await upsert('later', { every: '1h' }, now + hour);
            await upsert('old', { every: '1h' }, now - 2 * hour);
            await upsert('older', { every: '1h' }, now - 3 * hour);
            const { now: seen, due, nextIn } = await storage.dueSchedules(10);
            expect(due.map(v => v.key)).toEqual(['older', 'old']);
            expect(seen).toBeGreaterThanOrEqual(now);
            expect(nextIn).toBeGreaterThan(0);
            expect(nextIn).toBeLessThanOrEqual(hour);
            expect((await storage.dueSchedules(1)).due.map(v => v.key)).toEqual(['older']);
            await storage.removeSchedule('reports', 'later');
            expect((await storage.dueSchedules(10)).nextIn).toBeUndefined();
        });

        test('fireSchedule: enqueues one message per tick with its time and advances; a stale revision changes nothing', async () => {
            const now = await storage.clock();
            const stored = await upsert('a', { every: '1h', catchUp: 'all' }, now - 2 * hour, new Uint8Array([9]));
            const ticks = [now - 2 * hour, now - hour];
            const ids = await storage.fireSchedule({ channel: 'reports', key: 'a', revision: stored.revision, ticks, nextRunAt: now + hour });
            expect(ids).toHaveLength(2);
            // The same revision again: another process that read the schedule at the same time.
            expect(await storage.fireSchedule({ channel: 'reports', key: 'a', revision: stored.revision, ticks, nextRunAt: now + hour })).toBeUndefined();

            const [after] = await storage.listSchedules();
            expect(after).toMatchObject({ nextRunAt: now + hour, lastRunAt: now - hour });
            const claimed = await storage.claim('reports', 'c1', 10, 30_000);
            expect(claimed.map(v => [v.id, v.scheduledAt?.getTime(), [...v.payload], v.maxAttempts, v.attempt])).toEqual([
                [ids![0], now - 2 * hour, [9], 3, 1],
                [ids![1], now - hour, [9], 3, 1],
            ]);

            // No ticks (skipped by catch-up): advances, enqueues nothing, keeps the last run.
            expect(await storage.fireSchedule({ channel: 'reports', key: 'a', revision: after.revision, ticks: [], nextRunAt: now + 2 * hour })).toEqual([]);
            expect((await storage.listSchedules())[0]).toMatchObject({ nextRunAt: now + 2 * hour, lastRunAt: now - hour });
            expect((await storage.stats('reports'))[0]).toMatchObject({ pending: 0, inFlight: 2 });

            const removed = (await storage.listSchedules())[0];
            await storage.removeSchedule('reports', 'a');
            expect(await storage.fireSchedule({ channel: 'reports', key: 'a', revision: removed.revision, ticks: [now], nextRunAt: now + hour })).toBeUndefined();
            expect((await storage.stats('reports'))[0].inFlight).toBe(2);
        });

        test('fireSchedule: of many concurrent fires of one revision exactly one wins', async () => {
            const now = await storage.clock();
            const stored = await upsert('a', { every: '1h' }, now - hour);
            const results = await Promise.all(Array.from({ length: 8 }, () =>
                storage.fireSchedule({ channel: 'reports', key: 'a', revision: stored.revision, ticks: [now - hour], nextRunAt: now + hour })));
            expect(results.filter(v => v !== undefined)).toHaveLength(1);
            expect((await storage.stats('reports'))[0].pending).toBe(1);
        });

        test('channel.schedule(): every tick delivers the data as T with message.scheduledAt on the interval', async () => {
            const channel = queue.channel<Report>('reports');
            const info = await channel.schedule('r', { every: '200ms' }, report('daily'));
            expect(info).toMatchObject({ channel: 'reports', key: 'r', options: { every: 200, catchUp: 'latest', catchUpLimit: 100 } });
            expect(info.nextRunAt.getTime() % 200).toBe(0);
            const { messages, release } = await collect();
            await waitFor(() => messages.length >= 3, 'three ticks');
            await release();
            const ticks = messages.map(v => v.scheduledAt!.getTime());
            expect(ticks[0]).toBe(info.nextRunAt.getTime());
            expect(ticks.slice(1).map((tick, i) => tick - ticks[i])).toEqual(ticks.slice(1).map(() => 200));
            expect(messages[0].data).toEqual(report('daily'));
            expect(messages[0].data.since).toBeInstanceOf(Date);
            expect((await queue.schedules())[0].lastRunAt!.getTime()).toBeGreaterThanOrEqual(ticks[ticks.length - 1]);
        });

        test('a cron schedule fires on whole seconds of the storage clock', async () => {
            await queue.channel<Report>('reports').schedule('cron', { cron: '* * * * * *' }, report('secondly'));
            const { messages, release } = await collect();
            await waitFor(() => messages.length >= 1, 'a cron tick', 5000);
            await release();
            expect(messages[0].scheduledAt!.getTime() % 1000).toBe(0);
            expect(messages[0].data.kind).toBe('secondly');
        });

        test('scheduling an existing key replaces spec and data; the message carries the new data', async () => {
            const channel = queue.channel<Report>('reports');
            await channel.schedule('r', { cron: '0 3 * * *', timezone: 'Europe/Berlin' }, report('old'));
            await channel.schedule('r', { every: '200ms' }, report('new'));
            const schedules = await queue.schedules('reports');
            expect(schedules.map(v => [v.key, v.options.every])).toEqual([['r', 200]]);
            const { messages, release } = await collect();
            await waitFor(() => messages.length >= 1, 'a tick');
            await release();
            expect(messages[0].data.kind).toBe('new');
            expect(await channel.unschedule('r')).toBe(true);
            expect(await queue.schedules()).toEqual([]);
        });

        test('a bad cron, time zone or value is rejected and nothing is stored', async () => {
            const channel = queue.channel<Report>('reports');
            const cron = await channel.schedule('r', { cron: 'every night' }, report('x')).catch(e => e);
            expect(cron).toBeInstanceOf(QueueOptionError);
            expect(cron.message).toContain('"every night"');
            const zone = await channel.schedule('r', { cron: '0 3 * * *', timezone: 'Europe/Atlantis' }, report('x')).catch(e => e);
            expect(zone).toBeInstanceOf(QueueOptionError);
            expect(zone.message).toContain('"Europe/Atlantis"');
            const value = await channel.schedule('r', { every: '1h' }, { kind: 1 } as any).catch(e => e);
            expect(value).toBeInstanceOf(QueueValidationError);
            expect(value.message).toContain('kind: Not a string');
            expect(await queue.schedules()).toEqual([]);
        });

        describe('after downtime', () => {
            // Six hourly ticks passed while no scheduler ran, the latest 30 minutes ago.
            async function downtime(catchUp: ScheduleOptions['catchUp'], catchUpLimit?: number) {
                const now = await storage.clock();
                const first = now - 5.5 * hour;
                const payload = new MessageCodec<Report>('reports', typeOf<Report>()).encode(report('missed'));
                await upsert('r', { every: '1h', catchUp, ...catchUpLimit ? { catchUpLimit } : {} }, first, payload);
                const release = await queue.runScheduler();
                await waitFor(async () => (await queue.schedules())[0].nextRunAt.getTime() > now, 'the scheduler to advance the schedule');
                await release();
                // The messages of a fire commit with its advance: all of them are there now.
                const messages = await storage.claim('reports', 'inspector', 100, 30_000);
                expect(new Set(messages.map(v => [...v.payload].join()))).toEqual(new Set(messages.length ? [[...payload].join()] : []));
                return { first, ticks: messages.map(v => v.scheduledAt!.getTime()), next: (await queue.schedules())[0].nextRunAt.getTime(), now };
            }

            test("'latest' (default): one message, for the latest missed tick", async () => {
                const { first, ticks, next, now } = await downtime(undefined);
                expect(ticks).toEqual([first + 5 * hour]);
                expect(next).toBe(Math.floor(now / hour) * hour + hour);
                expect(logger.lines.some(v => v.includes("found 6 tick(s) since") && v.includes("catchUp 'latest' enqueued 1 and skipped 5"))).toBe(true);
            });

            test("'none': no message", async () => {
                expect((await downtime('none')).ticks).toEqual([]);
            });

            test("'all': one message per missed tick, at most catchUpLimit, oldest first", async () => {
                const { first, ticks } = await downtime('all', 4);
                expect(ticks).toEqual([2, 3, 4, 5].map(n => first + n * hour));
            });
        });

        test('disconnect() ends runScheduler(); releasing it afterwards leaves the count alone', async () => {
            const release = await queue.runScheduler();
            expect(queue.activeConsumers).toBe(1);
            await queue.disconnect();
            expect(queue.activeConsumers).toBe(0);
            const again = await queue.runScheduler();
            await release();
            expect(queue.activeConsumers).toBe(1);
            await again();
            expect(queue.activeConsumers).toBe(0);
        });

        test('runScheduler(): fires without consumers, sleeps until the next run (not the poll interval), counts as active', async () => {
            await queue.close();
            queue = makeQueue({ pollInterval: '1h' });
            const release = await queue.runScheduler();
            expect(queue.activeConsumers).toBe(1);
            // Added while the loop sleeps for an hour: the local upsert wakes it, the next runs end its sleeps.
            await queue.channel<Report>('reports').schedule('r', { every: '100ms' }, report('x'));
            await waitFor(async () => (await storage.stats('reports'))[0]?.pending >= 3, 'three ticks enqueued');
            await release();
            expect(queue.activeConsumers).toBe(0);
            // Released: the next tick stays due (a running scheduler fires it within milliseconds).
            const { lastRunAt } = (await queue.schedules())[0];
            await waitFor(async () => {
                const { now, due } = await storage.dueSchedules(1);
                return due.length === 1 && now - due[0].nextRunAt >= 300;
            }, 'the next tick to stay due for 300ms');
            expect((await queue.schedules())[0].lastRunAt).toEqual(lastRunAt);
        });
    });
}
