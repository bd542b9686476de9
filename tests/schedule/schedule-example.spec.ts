/**
 * The example worker (examples/worker.ts) as a real process: it declares the nightly schedule
 * at start, and its scheduler fires a tick that fell due while it ran.
 */
import { join } from 'path';
import { BrokerQueue, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';

const examples = join(__dirname, '..', '..', 'examples');

test('examples/worker.ts upserts the nightly schedule and fires its due tick once; SIGTERM exits 0', async () => {
    const dir = tempDir();
    const path = dir.file('queue.sqlite');
    const inspector = new BrokerQueue(new SqliteQueueAdapter({ path }), { logger: new MemoryLogger() });
    // cwd in the temp dir: FrameworkModule creates ./var/debug there; NODE_PATH resolves ts-node from it.
    const worker = new Child(join(examples, 'worker.ts'), [], {
        APP_BROKER_QUEUE_SQLITE_PATH: path, WORKER_NAME: 'w1', NODE_PATH: join(__dirname, '..', '..', 'node_modules'),
    }, dir.path);
    try {
        await worker.waitForLine("is consuming 'user/registered'", 60_000);
        const [schedule] = await inspector.schedules();
        expect(schedule).toMatchObject({ channel: 'reports/nightly', key: 'nightly-new-users', options: { cron: '0 3 * * *', timezone: 'Europe/Berlin' } });
        expect([1, 2]).toContain(schedule.nextRunAt.getUTCHours());

        // Last night's tick was missed (no worker ran): the running worker notices within its poll interval.
        const [stored] = await inspector.adapter.listSchedules();
        const lastNight = stored.nextRunAt - 86_400_000;
        await inspector.adapter.fireSchedule({ channel: 'reports/nightly', key: 'nightly-new-users', revision: stored.revision, ticks: [], nextRunAt: lastNight });
        await worker.waitForLine(`Nightly report: new-users for ${new Date(lastNight).toISOString()} worker=w1`);
        expect((await inspector.schedules())[0].nextRunAt.getTime()).toBe(stored.nextRunAt);

        worker.kill('SIGTERM');
        expect(await worker.exited).toEqual({ code: 0, signal: null });
        expect(worker.lines.filter(v => v.startsWith('Nightly report:'))).toHaveLength(1);
    } finally {
        worker.kill('SIGKILL');
        await inspector.close();
        dir.remove();
    }
}, 120_000);
