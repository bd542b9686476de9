import { App } from '@deepkit/app';
import { BrokerQueue } from '../../src';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';
import { captureOutput, queueApp } from './app-fixture';

describe('operator commands', () => {
    let dir: ReturnType<typeof tempDir>;
    let app: App<any>;
    let queue: BrokerQueue;
    let failedIds: string[];

    const run = (...argv: string[]) => captureOutput(() => app.execute(argv));
    const json = async (...argv: string[]) => {
        const result = await run(...argv, '--json');
        expect(result).toMatchObject({ code: 0, stderr: '' });
        return JSON.parse(result.stdout);
    };

    beforeEach(async () => {
        dir = tempDir();
        app = queueApp(dir.file('queue.sqlite')).app;
        queue = app.get(BrokerQueue);
        // The scripted workload: 6 jobs, of which 2 fail for good; 1 delayed job; 2 pending others.
        const jobs = queue.channel<number>('jobs', { maxAttempts: 1 });
        await jobs.produceMany([1, 2, 3, 4, 5, 6]);
        await jobs.produce(7, { delay: '1h' });
        await queue.channel<string>('other').produceMany(['a', 'b']);
        let settled = 0;
        const release = await jobs.consume(n => {
            settled++;
            if (n % 2 === 0 && n < 6) throw new Error(`boom ${n}\n    at stack line`);
        }, { maxParallel: 3 });
        await waitFor(() => settled === 6, 'six jobs to be processed');
        await release();
        failedIds = (await queue.listFailed('jobs')).map(v => v.id);
    });

    afterEach(async () => {
        await queue.close();
        dir.remove();
    });

    test('queue:stats shows every state per channel', async () => {
        const stats = await json('queue:stats');
        expect(stats).toEqual([
            { channel: 'jobs', pending: 0, delayed: 1, inFlight: 0, failed: 2, doneLastHour: 4, ratePerSecond: expect.any(Number), paused: false },
            { channel: 'other', pending: 2, delayed: 0, inFlight: 0, failed: 0, doneLastHour: 0, ratePerSecond: 0, paused: false },
        ]);
        expect(stats[0].ratePerSecond).toBeGreaterThan(0);

        const table = await run('queue:stats');
        expect(table.code).toBe(0);
        const lines = table.stdout.trimEnd().split('\n');
        expect(lines[0]).toMatch(/^channel\s+pending\s+delayed\s+in flight\s+failed\s+done \(1h\)\s+rate\/s\s+state$/);
        expect(lines[1]).toMatch(/^jobs\s+0\s+1\s+0\s+2\s+4\s+[\d.]+\s+running$/);
        expect(lines[2]).toMatch(/^other\s+2\s+0\s+0\s+0\s+0\s+0\s+running$/);

        expect(await json('queue:stats', 'other')).toHaveLength(1);
    });

    test('queue:pause and queue:resume persist the state that queue:stats shows', async () => {
        expect(await json('queue:pause', 'other')).toEqual({ channel: 'other', paused: true });
        expect((await queue.stats('other'))[0].paused).toBe(true);
        const table = await run('queue:stats');
        expect(table.stdout).toMatch(/other\s+2\s+0\s+0\s+0\s+0\s+0\s+paused/);
        const resumed = await run('queue:resume', 'other');
        expect(resumed.code).toBe(0);
        expect(resumed.stdout).toContain("Resumed channel 'other'");
        expect((await queue.stats('other'))[0].paused).toBe(false);
    });

    test('queue:failed lists ids, attempts and the last error', async () => {
        const failed = await json('queue:failed', 'jobs');
        expect(failed.map((v: any) => v.id)).toEqual(failedIds);
        expect(failed.map((v: any) => [v.attempts, v.maxAttempts])).toEqual([[1, 1], [1, 1]]);
        expect(failed[0].error).toContain('boom 2');
        expect(failed[1].error).toContain('boom 4');

        const table = await run('queue:failed', 'jobs');
        const lines = table.stdout.trimEnd().split('\n');
        expect(lines[0]).toMatch(/^id\s+attempts\s+failed at\s+last error$/);
        expect(lines[1].startsWith(failedIds[0] + ' ')).toBe(true);
        expect(lines[1]).toMatch(/1\/1\s+\d{4}-\d\d-\d\dT.*Error: boom 2$/);
        expect(lines).toHaveLength(3);

        expect((await run('queue:failed', 'other')).stdout).toBe("Channel 'other' has no failed messages.\n");
    });

    test('queue:retry makes the named or all failed messages pending again', async () => {
        expect(await json('queue:retry', 'jobs', failedIds[0])).toEqual({ channel: 'jobs', retried: 1 });
        expect((await queue.stats('jobs'))[0]).toMatchObject({ pending: 1, failed: 1 });

        const all = await run('queue:retry', 'jobs', '--all');
        expect(all).toEqual({ code: 0, stdout: "Retried 1 failed message(s) of channel 'jobs'.\n", stderr: '' });
        expect((await queue.stats('jobs'))[0]).toMatchObject({ pending: 2, failed: 0 });

        const several = await run('queue:retry', 'jobs', '1,999');
        expect(several.stdout).toContain('Retried 0 failed message(s)');
        expect(several.stdout).toContain('2 of the ids named were not failed messages of this channel.');

        const neither = await run('queue:retry', 'jobs');
        expect(neither.code).toBe(1);
        expect(neither.stderr).toContain('Name the message ids to retry (e.g. 3,7,9) or pass --all.');
    });

    test('queue:cancel removes a pending or delayed message, fails a running one, and says when there is nothing to cancel', async () => {
        // Ids in produce order: jobs 1-6 (2 failed), the delayed job 7, others 8 and 9.
        const waiting = { id: failedIds[0] };
        expect(await json('queue:cancel', 'other', '8')).toEqual({ channel: 'other', id: '8', result: 'removed' });
        expect((await queue.stats('other'))[0]).toMatchObject({ pending: 1 });
        const table = await run('queue:cancel', 'jobs', '7');
        expect(table).toEqual({ code: 0, stdout: "Removed message 7 of channel 'jobs' (it was pending or delayed).\n", stderr: '' });
        expect((await queue.stats('jobs'))[0]).toMatchObject({ delayed: 0 });

        const failed = await run('queue:cancel', 'jobs', waiting.id);
        expect(failed.code).toBe(1);
        expect(failed.stderr).toContain(`Message ${waiting.id} is not pending, delayed or running in channel 'jobs'`);
        expect((await run('queue:cancel', 'nope', '1')).stderr).toContain("Unknown channel 'nope'");

        // A running message: kept as failed, and its callback's signal aborted.
        const aborted = new Promise<string>(resolve => void queue.channel<string>('other').consume(async (_, message) => {
            await new Promise(done => message.signal.addEventListener('abort', done));
            resolve((message.signal.reason as { kind: string }).kind);
        }));
        await waitFor(async () => (await queue.stats('other'))[0].inFlight === 1, 'the running message');
        const running = await run('queue:cancel', 'other', '9');
        expect(running).toEqual({ code: 0, stdout: "Cancelled message 9 of channel 'other': it was running; its callback is aborted and it is kept as failed ('cancelled').\n", stderr: '' });
        expect(await aborted).toBe('cancelled');
    });

    test('queue:purge deletes failed messages or all of a channel', async () => {
        expect(await json('queue:purge', 'jobs', '--failed')).toEqual({ channel: 'jobs', which: 'failed', purged: 2 });
        expect((await queue.stats('jobs'))[0]).toMatchObject({ delayed: 1, failed: 0 });

        const all = await run('queue:purge', 'other', '--all');
        expect(all).toEqual({ code: 0, stdout: "Purged 2 message(s) of channel 'other'.\n", stderr: '' });

        for (const flags of [[], ['--failed', '--all']]) {
            const wrong = await run('queue:purge', 'jobs', ...flags);
            expect(wrong.code).toBe(1);
            expect(wrong.stderr).toContain('Pass exactly one of --failed');
        }
        expect((await queue.stats('jobs'))[0]).toMatchObject({ delayed: 1 });
    });

    test('an unknown channel is a clear error with exit code 1', async () => {
        for (const argv of [['queue:stats', 'nope'], ['queue:failed', 'nope'], ['queue:retry', 'nope', '--all'], ['queue:purge', 'nope', '--all']]) {
            const result = await run(...argv);
            expect(result.code).toBe(1);
            expect(result.stdout).toBe('');
            expect(result.stderr).toBe("Error: Unknown channel 'nope': it has no messages and no recent activity. Known channels: 'jobs', 'other'.\n");
        }
    });
});
