/**
 * The cross-process wake-up (a touched file per channel, watched with inotify) is an optimisation over
 * polling: when it cannot work, operations still succeed and consumers poll. Real files, real
 * permissions, real processes of another OS user.
 */
import Database from 'better-sqlite3';
import { chmodSync, existsSync, readdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { BrokerQueue, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { asRootTest, nobody } from '../support/os-user';
import { tempDir } from '../support/temp';
import { deferred, within } from '../support/wait';

type Job = { n: number, label: string };

/** The wake-up warnings this process emits (they are still printed). */
function wakeWarnings(): { messages: () => string[], stop: () => void } {
    const spy = jest.spyOn(process, 'emitWarning');
    const messages = () => spy.mock.calls
        .filter(([, options]) => (options as { code?: string } | undefined)?.code === 'DEEPKIT_BROKER_QUEUE_WAKE')
        .map(([message]) => String(message));
    return { messages, stop: () => spy.mockRestore() };
}

function consumerRows(path: string): number {
    const db = new Database(path, { readonly: true });
    try {
        return (db.prepare('SELECT COUNT(*) AS n FROM queue_consumers').get() as { n: number }).n;
    } finally {
        db.close();
    }
}

describe('sqlite: wake-up failures', () => {
    let dir: ReturnType<typeof tempDir>;
    let path: string;
    beforeEach(() => {
        dir = tempDir();
        path = dir.file('queue.sqlite');
    });
    afterEach(() => dir.remove());

    test('a file in place of the wake-up folder: produce, settle, consume and release work, by polling, with one warning each', async () => {
        writeFileSync(`${path}-wake`, 'not a folder');
        const warnings = wakeWarnings();
        const logger = new MemoryLogger();
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path }), { logger, pollInterval: 50 });
        try {
            const channel = queue.channel<Job>('jobs', { backoff: { delay: 0 } });
            for (let n = 0; n < 3; n++) await channel.produce({ n, label: 'x' });
            // Each produce resolved, so a caller never retries (and stores a duplicate).
            expect((await queue.stats('jobs'))[0].pending).toBe(3);
            const seen: number[] = [];
            const all = deferred();
            const release = await channel.consume((job, message) => {
                seen.push(job.n);
                // A retry settles with a wake-up, as does the release of unstarted messages.
                if (message.attempt === 1 && job.n === 1) throw new Error('once more');
                if (seen.length === 4) all.resolve();
            });
            await all.promise;
            await release();
            expect(seen.sort()).toEqual([0, 1, 1, 2]);
            expect(logger.lines.filter(line => line.startsWith('error'))).toEqual([]);
            expect((await queue.stats('jobs'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0 });
            expect(consumerRows(path)).toBe(0);
            // Once for touching, once for watching; not once per operation.
            const messages = warnings.messages();
            expect(messages).toHaveLength(2);
            expect(messages[0]).toMatch(/cannot touch the SQLite wake-up file .*ENOTDIR/);
            expect(messages[1]).toMatch(/cannot watch the SQLite wake-up folder .*EEXIST/);
        } finally {
            warnings.stop();
            await queue.close();
        }
    });

    test('a worker whose file-system watch fails (EMFILE) consumes by polling, and its release forgets it', async () => {
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path }), { logger: new MemoryLogger() });
        await queue.connect();
        const worker = new Child('tests/fixtures/sqlite-watch-emfile.ts', [path]);
        try {
            await worker.waitForLine(line => line === 'consuming' || line.startsWith('failed'));
            expect(worker.lines).toContain('consuming');
            const channel = queue.channel<Job>('jobs');
            await channel.produce({ n: 1, label: 'a' });
            await channel.produce({ n: 2, label: 'b' });
            await worker.waitForLine('received 2');
            expect(worker.lines).toContain('received 1');
            worker.kill('SIGTERM');
            await worker.waitForLine('stopped');
            await worker.exited;
            expect(worker.errorOutput).toMatch(/DEEPKIT_BROKER_QUEUE_WAKE.*cannot watch the SQLite wake-up folder.*EMFILE/);
            expect(consumerRows(path)).toBe(0);
        } finally {
            worker.kill();
            await queue.close();
        }
    });

    describe('a database shared by two OS users', () => {
        let queue: BrokerQueue;

        /** Root creates the database and the channel's wake-up file; the other user may write the database. */
        async function share(wakeFileMode: number): Promise<void> {
            chmodSync(dir.path, 0o777);
            queue = new BrokerQueue(new SqliteQueueAdapter({ path }), { logger: new MemoryLogger(), pollInterval: 2 ** 31 - 1 });
            await queue.channel<Job>('jobs').produce({ n: 0, label: 'root' });
            for (const file of [path, `${path}-wal`, `${path}-shm`]) chmodSync(file, 0o666);
            const wake = `${path}-wake`;
            for (const file of readdirSync(wake)) chmodSync(join(wake, file), wakeFileMode);
        }

        afterEach(() => queue?.close());

        asRootTest('its produce wakes an idle consumer of the other user although it may not set the file\'s times (EPERM)', async () => {
            await share(0o666);
            const seen: number[] = [];
            const first = deferred();
            const woken = deferred();
            // Polling every 24.8 days: only a wake-up delivers the second message.
            const release = await queue.channel<Job>('jobs').consume(job => {
                if (seen.push(job.n) === 1) first.resolve();
                else woken.resolve();
            });
            await first.promise;
            const producer = new Child('tests/fixtures/sqlite-producer.ts', [path, '1'], {}, undefined, nobody);
            await producer.waitForLine('finished');
            await within(woken.promise, 15_000, 'the wake-up from the other user\'s produce');
            await release();
            expect(seen).toEqual([0, 0]);
            expect(producer.errorOutput).not.toContain('DEEPKIT_BROKER_QUEUE_WAKE');
        });

        asRootTest('its produce resolves once per message although it cannot write the wake-up file (EACCES), and warns once', async () => {
            await share(0o644);
            const producer = new Child('tests/fixtures/sqlite-producer.ts', [path, '3'], {}, undefined, nobody);
            await producer.waitForLine(line => line === 'finished', 30_000);
            await producer.exited;
            expect(producer.lines.filter(line => line.startsWith('produced'))).toHaveLength(3);
            expect((await queue.stats('jobs'))[0].pending).toBe(4);
            expect(producer.errorOutput.match(/DEEPKIT_BROKER_QUEUE_WAKE/g)).toHaveLength(1);
            expect(producer.errorOutput).toMatch(/cannot touch the SQLite wake-up file.*EACCES/);
            expect(existsSync(`${path}-wake`)).toBe(true);
        });
    });
});
