/**
 * Schedules in a Deepkit app: `provideSchedule()` next to the channel's provider, upserted
 * when a command starts; `queue:schedules`; `runScheduler()` in a command that returns.
 */
import { provide } from '@deepkit/injector';
import { BrokerQueue, BrokerQueueChannel, provideSchedule, QueueOptionError, SqliteQueueAdapter } from '../../src';
import { captureOutput, queueApp } from '../module/app-fixture';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';

export type Report = { kind: string };
export type ReportChannel = BrokerQueueChannel<Report>;
export type OtherChannel = BrokerQueueChannel<number>;
export const reportChannelProvider = provide<ReportChannel>((queue: BrokerQueue) => queue.channel<Report>('reports', { maxAttempts: 2 }));

describe('schedules in BrokerQueueModule', () => {
    let dir: ReturnType<typeof tempDir>;
    let inspector: BrokerQueue;
    const apps: { get(token: typeof BrokerQueue): BrokerQueue }[] = [];

    beforeEach(() => {
        dir = tempDir();
        inspector = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
    });

    afterEach(async () => {
        for (const app of apps.splice(0)) await app.get(BrokerQueue).close();
        await inspector.close();
        dir.remove();
    });

    const logs = new Map<object, () => string>();

    function app(providers: any[]) {
        const { app, logger } = queueApp(dir.file('queue.sqlite'), { providers });
        app.command('noop', () => undefined);
        apps.push(app);
        logs.set(app, () => logger.memory.messages.map(v => v.message).join('\n'));
        return app;
    }

    const nightly = (kind: string) => provideSchedule<ReportChannel>('nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin' }, { kind });

    test('a declared schedule is upserted when any command starts; declared again it keeps its next run and takes the new data', async () => {
        expect(await app([reportChannelProvider, nightly('v1')]).execute(['noop'])).toBe(0);
        const [created] = await inspector.schedules();
        expect(created).toMatchObject({ channel: 'reports', key: 'nightly', options: { cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'latest' } });
        // 03:00 in Berlin is 01:00 or 02:00 UTC.
        expect([1, 2]).toContain(created.nextRunAt.getUTCHours());

        // Its tick passes while no process runs (a downtime): the next run is in the past.
        const [first] = await inspector.adapter.listSchedules();
        const missed = first.nextRunAt - 2 * 86_400_000;
        await inspector.adapter.fireSchedule({ channel: 'reports', key: 'nightly', revision: first.revision, ticks: [], nextRunAt: missed });

        // A restart declares it again, with new data: the missed tick is kept for the catch-up, not skipped by a recomputation.
        expect(await app([reportChannelProvider, nightly('v2')]).execute(['noop'])).toBe(0);
        const [again] = await inspector.schedules();
        expect(again.nextRunAt.getTime()).toBe(missed);
        // The stored data is the new one: fire the schedule by hand and read the message.
        const [stored] = await inspector.adapter.listSchedules();
        await inspector.adapter.fireSchedule({ channel: 'reports', key: 'nightly', revision: stored.revision, ticks: [missed], nextRunAt: created.nextRunAt.getTime() });
        const received: [Report, number, number | undefined][] = [];
        const release = await inspector.channel<Report>('reports').consume((report, message) => void received.push([report, message.maxAttempts, message.scheduledAt?.getTime()]));
        await waitFor(() => received.length === 1, 'the fired message');
        await release();
        // maxAttempts is the declaring app's channel option, stored with the schedule.
        expect(received).toEqual([[{ kind: 'v2' }, 2, missed]]);
    });

    test('a bad option fails at the declaration; an unprovided channel or bad data fails the command', async () => {
        expect(() => provideSchedule<ReportChannel>('x', { cron: '0 3 * * *', timezone: 'Berlin/Mitte' }, { kind: 'a' })).toThrow(QueueOptionError);
        expect(() => provideSchedule<ReportChannel>('x', { cron: '0 25 * * *' }, { kind: 'a' })).toThrow(/Option 'cron' has the invalid pattern "0 25 \* \* \*"/);

        const unprovided = app([provideSchedule<OtherChannel>('lonely', { every: '1h' }, 1)]);
        expect(await unprovided.execute(['noop'])).toBe(1);
        expect(logs.get(unprovided)!()).toMatch(/Schedule 'lonely' names the channel .*which the app does not provide/);

        const badData = app([reportChannelProvider, provideSchedule<ReportChannel>('bad', { every: '1h' }, { kind: 7 } as any)]);
        expect(await badData.execute(['noop'])).toBe(1);
        expect(logs.get(badData)!()).toContain('kind: Not a string');
        expect(await inspector.schedules()).toEqual([]);
    });

    test('queue:schedules lists key, schedule, catch-up, next and last run; --json for scripts', async () => {
        const every = provideSchedule<ReportChannel>('hourly', { every: '1h', catchUp: 'none' }, { kind: 'h' });
        const subject = app([reportChannelProvider, nightly('v1'), every]);
        const run = (...argv: string[]) => captureOutput(() => subject.execute(argv));

        const table = await run('queue:schedules');
        expect(table.code).toBe(0);
        const lines = table.stdout.trimEnd().split('\n');
        expect(lines[0]).toMatch(/^channel\s+key\s+schedule\s+catch up\s+next run\s+last run$/);
        expect(lines[1]).toMatch(/^reports\s+hourly\s+every 1h\s+none\s+\d{4}-\d\d-\d\dT\d\d:00:00\.000Z\s+-$/);
        expect(lines[2]).toMatch(/^reports\s+nightly\s+cron '0 3 \* \* \*' Europe\/Berlin\s+latest\s+\d{4}-.*Z\s+-$/);

        const json = await run('queue:schedules', 'reports', '--json');
        expect(json.stderr).toBe('');
        expect(JSON.parse(json.stdout).map((v: any) => [v.key, v.options, typeof v.nextRunAt])).toEqual([
            ['hourly', { every: 3_600_000, catchUp: 'none', catchUpLimit: 100 }, 'string'],
            ['nightly', { cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'latest', catchUpLimit: 100 }, 'string'],
        ]);
        expect((await run('queue:schedules', 'mails')).stdout).toBe("Channel 'mails' has no schedules.\n");
    });

    test('runScheduler() in a command that returns keeps firing after app shutdown, until released', async () => {
        const subject = app([reportChannelProvider]);
        let release!: () => Promise<void>;
        subject.command('scheduler', async (queue: BrokerQueue, reports: ReportChannel) => {
            await reports.schedule('fast', { every: '100ms' }, { kind: 'fast' });
            release = await queue.runScheduler();
        });
        expect(await subject.execute(['scheduler'])).toBe(0);
        const queue = subject.get(BrokerQueue);
        expect(queue.activeConsumers).toBe(1);
        await waitFor(async () => (await inspector.stats('reports'))[0]?.pending >= 3, 'ticks fired after the command returned');
        await release();
        await waitFor(() => (queue as any).connected === undefined, 'the queue to disconnect once released');
    });
});
