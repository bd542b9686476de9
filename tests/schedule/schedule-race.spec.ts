/**
 * Five real processes race one schedule of `every: '200ms'` for 10 s, on each adapter: every
 * tick is enqueued exactly once (one message id per tick time) and none is missed (the tick
 * times are every 200 ms from the first to the last, without a gap).
 */
import { BrokerQueue, PostgresQueueAdapter, QueueStorage, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';

const racers = 5;
const every = 200;
const duration = 10_000;

async function race(storage: QueueStorage, args: string[]): Promise<void> {
    const inspector = new BrokerQueue(storage, { logger: new MemoryLogger() });
    const children = Array.from({ length: racers }, () => new Child('tests/fixtures/schedule-racer.ts', args));
    try {
        // Five children compile and start at once: on a loaded machine that takes a while.
        await Promise.all(children.map(v => v.waitForLine('ready', 150_000)));
        // catchUp 'all': a racer late for a tick (a busy machine) still enqueues it, so a gap can only be a lost tick.
        const { nextRunAt } = await inspector.channel<{ n: number }>('ticks').schedule('race', { every, catchUp: 'all' }, { n: 1 });
        const first = nextRunAt.getTime();
        const ticks = () => children.flatMap(v => v.lines).filter(v => v.startsWith('tick ')).map(v => v.split(' ')).map(([, tick, id]) => ({ tick: Number(tick), id }));
        await waitFor(() => ticks().some(v => v.tick >= first + duration), `ticks for ${duration}ms`, duration + 30_000, 50);
        expect(await inspector.channel<{ n: number }>('ticks').unschedule('race')).toBe(true);

        // Everything enqueued is processed and its line has arrived.
        await waitFor(async () => {
            const stats = (await inspector.stats('ticks'))[0];
            return stats.pending === 0 && stats.inFlight === 0 && new Set(ticks().map(v => v.id)).size === stats.doneLastHour;
        }, 'every enqueued tick to be consumed', 30_000, 50);

        const idsByTick = new Map<number, Set<string>>();
        for (const { tick, id } of ticks()) idsByTick.set(tick, new Set([...idsByTick.get(tick) ?? [], id]));
        const times = [...idsByTick.keys()].sort((a, b) => a - b);
        const count = Math.round((times[times.length - 1] - first) / every) + 1;
        expect(count).toBeGreaterThanOrEqual(duration / every);
        // None missed: every tick from the first to the last.
        expect(times).toEqual(Array.from({ length: count }, (_, i) => first + i * every));
        // Each enqueued exactly once: one message per tick, and no other message.
        expect(times.filter(v => idsByTick.get(v)!.size !== 1)).toEqual([]);
        expect((await inspector.stats('ticks'))[0].doneLastHour).toBe(count);
    } finally {
        for (const child of children) child.kill();
        await Promise.all(children.map(v => v.exited));
        await inspector.close();
    }
}

describe('schedules: five processes racing one schedule', () => {
    test('sqlite: every tick enqueued exactly once, none missed', async () => {
        const dir = tempDir();
        const path = dir.file('queue.sqlite');
        try {
            await race(new SqliteQueueAdapter({ path }), ['sqlite', path]);
        } finally {
            dir.remove();
        }
    }, 240_000);
});

describePostgres('schedules: five processes racing one schedule', () => {
    test('postgres: every tick enqueued exactly once, none missed', async () => {
        const schema = testSchema();
        try {
            await race(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }), ['postgres', postgresUrl, schema]);
        } finally {
            await dropSchema(schema);
        }
    }, 240_000);
});
