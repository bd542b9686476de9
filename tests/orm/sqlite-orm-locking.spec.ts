/**
 * One writer at a time: the queue and the application share the SQLite file.
 */
import { Database } from '@deepkit/orm';
import { BrokerQueue, QueueOptionError } from '../../src';
import { AppUser, Job, WelcomeMail } from '../fixtures/orm-app';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { AppQueue, killChildren, openAppQueue } from '../support/orm-queue';
import { tempDir } from '../support/temp';
import { deferred, waitFor } from '../support/wait';

const worker = 'tests/fixtures/orm-worker.ts';
const startup = 180_000;
jest.setTimeout(600_000);

describe('sqlite: the application and transactional workers on one file', () => {
    let dir: ReturnType<typeof tempDir>;
    let path: string;
    let database: Database;
    let queue: BrokerQueue;
    let children: Child[];
    let app: AppQueue;

    beforeEach(async () => {
        dir = tempDir();
        path = dir.file('app.sqlite');
        app = await openAppQueue('sqlite', path, { pollInterval: 50 });
        ({ database, queue } = app);
        children = [];
    });

    afterEach(async () => {
        await killChildren(children);
        await app.close();
        dir.remove();
    });

    test('inside a transactional callback, a produce without the session is refused at once; with it, it commits with the ack', async () => {
        const jobs = queue.channel<Job>('jobs');
        const followUps = queue.channel<Job>('follow-ups');
        await jobs.produce({ n: 1 });
        const outcome = deferred<unknown>();
        await jobs.consume(async (job, message, session) => {
            const refused = await followUps.produce({ n: 2 }).catch(e => e);
            await followUps.produce({ n: 3 }, { session });
            session.add(new WelcomeMail(job.n));
            outcome.resolve(refused);
        }, { database });
        const refused = await outcome.promise;
        expect(refused).toBeInstanceOf(QueueOptionError);
        expect((refused as Error).message).toContain("write to the queue through the callback's session");
        await waitFor(async () => (await queue.stats('jobs'))[0].doneLastHour === 1, 'the ack');
        expect((await queue.stats('follow-ups'))[0].pending).toBe(1);
        expect(await database.query(WelcomeMail).count()).toBe(1);
    });

    test('a transactional callback longer than its renewal interval commits without a false "lost the lease" warning', async () => {
        const logger = new MemoryLogger();
        const own = new BrokerQueue(queue.adapter, { logger, pollInterval: 50 });
        const jobs = own.channel<Job>('slow', { lease: '150ms' });
        await jobs.produce({ n: 1 });
        const ran = deferred();
        // Renewals (every 50 ms) wait for the write lock the callback's transaction holds.
        await jobs.consume(async (job, message, session) => {
            session.add(new WelcomeMail(job.n));
            await new Promise(resolve => setTimeout(resolve, 400));
            ran.resolve();
        }, { database });
        await ran.promise;
        await waitFor(async () => (await own.stats('slow'))[0].doneLastHour === 1, 'the ack');
        // The renewals that waited for the commit ran right after it, before the ack could be read.
        await own.stopConsumers();
        expect(logger.lines.filter(line => line.startsWith('warn') || line.startsWith('error'))).toEqual([]);
        expect(await database.query(WelcomeMail).count()).toBe(1);
    });

    test('the application\'s read-then-write transactions do not fail while worker processes drain with { database }', async () => {
        const count = 400;
        const workers = [0, 1].map(i => {
            const child = new Child(worker, ['sqlite', path, 'effects', '2'], { WORKER_NAME: `w${i}`, EFFECT_DELAY_MS: '1' });
            children.push(child);
            return child;
        });
        await Promise.all(workers.map(v => v.waitForLine('ready', startup)));
        await queue.channel<Job>('jobs').produceMany(Array.from({ length: count }, (_, n) => ({ n })));

        // The application, meanwhile: transactions that read first, then write (a user per transaction).
        let committed = 0;
        const failures: string[] = [];
        let drained = false;
        const app = (async () => {
            for (let id = 1; !drained; id++) {
                try {
                    await database.transaction(async session => {
                        const users = await session.query(AppUser).count();
                        session.add(new AppUser(id, `user${users}`));
                    });
                    committed++;
                } catch (error) {
                    failures.push(String(error));
                }
                // better-sqlite3 is synchronous: without a turn of the event loop this loop would never let go.
                await new Promise(resolve => setImmediate(resolve));
            }
        })();
        await waitFor(async () => (await queue.stats('jobs'))[0].doneLastHour === count, 'the workers to drain', 300_000, 50);
        drained = true;
        await app;
        expect(failures).toEqual([]);
        expect(committed).toBeGreaterThan(0);
        expect(await database.query(AppUser).count()).toBe(committed);
    });
});
