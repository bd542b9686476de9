/**
 * The ORM transaction paths, run by both backends unchanged through a factory
 * that returns the app's ORM database, the queue's adapter in that database,
 * and another database of the same kind that is not the queue's.
 */
import { Database, MemoryDatabaseAdapter } from '@deepkit/orm';
import {
    BrokerQueue, BrokerQueueOptions, QueueMessageProcessing, QueueMessageTooLargeError, QueueOptionError, QueueStorageAdapter, QueueTransactionalStorage,
} from '../../src';
import { AppUser, Backend, User, WelcomeMail } from '../fixtures/orm-app';
import { MemoryLogger } from '../support/logger';
import { deferred, waitFor, within } from '../support/wait';

export interface OrmFixture {
    backend: Backend;
    database: Database;
    adapter: QueueStorageAdapter & QueueTransactionalStorage;
    /** A database of the same kind that does not hold the queue. */
    otherDatabase: Database;
    /** Whether the other database has any queue table. */
    otherHasQueueTables(): Promise<boolean>;
    cleanup(): Promise<void>;
}

export function ormSuite(name: string, factory: () => Promise<OrmFixture>): void {
    describe(`ORM transactions: ${name}`, () => {
        let fixture: OrmFixture;
        let database: Database;
        let queue: BrokerQueue;
        let logger: MemoryLogger;
        const queues: BrokerQueue[] = [];

        function makeQueue(options: BrokerQueueOptions = {}): BrokerQueue {
            const made = new BrokerQueue(fixture.adapter, { logger, pollInterval: 50, reclaimInterval: 100, ...options });
            queues.push(made);
            return made;
        }

        beforeEach(async () => {
            fixture = await factory();
            database = fixture.database;
            await database.migrate();
            logger = new MemoryLogger();
            queue = makeQueue();
            await queue.connect();
        });

        afterEach(async () => {
            for (const made of queues.splice(0)) await made.stopConsumers();
            await queue.close();
            await fixture.cleanup();
        });

        const stats = async (channel = 'users') => (await queue.stats(channel))[0];

        test('a message produced in a transaction that rolls back is gone, with the application rows', async () => {
            const channel = queue.channel<User>('users');
            const error = await database.transaction(async session => {
                session.add(new AppUser(1, 'peter'));
                await channel.produce({ id: 1, username: 'peter' }, { session });
                await channel.produceMany([{ id: 2, username: 'paul' }, { id: 3, username: 'mary' }], { session });
                throw new Error('abort');
            }).catch(e => e);
            expect(error.message).toBe('abort');
            expect(await database.query(AppUser).count()).toBe(0);
            expect(await stats()).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 0 });
        });

        test('a message produced in a transaction is invisible until the commit, then wakes an idle consumer', async () => {
            // With an hour between polls, only the wake-up after the commit can deliver it.
            const idle = makeQueue({ pollInterval: '1h' });
            const channel = idle.channel<User>('users');
            const received = deferred<{ user: User, rowVisible: boolean }>();
            await channel.consume(async user => {
                received.resolve({ user, rowVisible: await database.query(AppUser).filter({ id: user.id }).has() });
            });
            let id = '';
            await database.transaction(async session => {
                session.add(new AppUser(7, 'peter'));
                ({ id } = await channel.produce({ id: 7, username: 'peter' }, { session }));
                await session.flush();
                expect(await stats()).toMatchObject({ pending: 0, inFlight: 0 });
            });
            const { user, rowVisible } = await received.promise;
            expect(user).toEqual({ id: 7, username: 'peter' });
            // The consumer saw the message only together with the application's row.
            expect(rowVisible).toBe(true);
            expect(id).toMatch(/^\d+$/);
        });

        test('produceMany in a session stores all in order, with the application rows', async () => {
            const channel = queue.channel<number>('numbers');
            const results = await database.transaction(async session => {
                session.add(new AppUser(1, 'peter'));
                return channel.produceMany([1, 2, 3], { session });
            });
            expect(new Set(results.map(v => v.id)).size).toBe(3);
            const got: number[] = [];
            const all = deferred();
            await channel.consume(n => {
                got.push(n);
                if (got.length === 3) all.resolve();
            });
            await all.promise;
            expect(got).toEqual([1, 2, 3]);
            expect(await database.query(AppUser).count()).toBe(1);
        });

        test('a message over maxMessageSize in a session rejects with QueueMessageTooLargeError; the transaction writes no message', async () => {
            const channel = queue.channel<string>('texts', { maxMessageSize: '1kb' });
            const errors = await database.transaction(async session => {
                session.add(new AppUser(1, 'peter'));
                const single = await channel.produce('x'.repeat(2000), { session }).catch(e => e);
                const many = await channel.produceMany(['a', 'x'.repeat(2000)], { session }).catch(e => e);
                return [single, many];
            });
            expect(errors[0]).toBeInstanceOf(QueueMessageTooLargeError);
            expect(errors[1]).toBeInstanceOf(QueueMessageTooLargeError);
            // The application's transaction went on and committed, without any of the messages.
            expect(await database.query(AppUser).count()).toBe(1);
            expect((await queue.stats('texts'))[0]?.pending ?? 0).toBe(0);
        });

        test('exactlyOnce deduplicates inside the transaction and against committed messages', async () => {
            const channel = queue.channel<User>('users', { process: QueueMessageProcessing.exactlyOnce, deduplicationInterval: '1m' });
            const user = { id: 1, username: 'peter' };
            const [first, second] = await database.transaction(async session => [
                await channel.produce(user, { session }),
                await channel.produce(user, { session }),
            ]);
            expect(first.deduplicated).toBe(false);
            expect(second).toEqual({ id: first.id, deduplicated: true });
            const third = await database.transaction(session => channel.produce(user, { session }));
            expect(third).toEqual({ id: first.id, deduplicated: true });
            expect((await stats()).pending).toBe(1);
        });

        test('consume with { database }: the callback\'s writes and the ack commit together', async () => {
            const channel = queue.channel<User>('users');
            await channel.produceMany([{ id: 1, username: 'a' }, { id: 2, username: 'b' }]);
            const seen: string[] = [];
            const both = deferred();
            await channel.consume(async (user, message, session) => {
                seen.push(session.constructor.name);
                session.add(new WelcomeMail(user.id, message.attempt));
                if (seen.length === 2) setImmediate(both.resolve);
            }, { database });
            await both.promise;
            await waitFor(async () => (await stats()).doneLastHour === 2, 'both acks');
            expect(seen).toEqual(['DatabaseSession', 'DatabaseSession']);
            expect((await database.query(WelcomeMail).find()).map(v => v.userId).sort()).toEqual([1, 2]);
            expect(await stats()).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 0 });
        });

        test('a callback past its timeout settles nothing: its transaction rolls back (writes and ack), the retry runs', async () => {
            const channel = queue.channel<User>('users', { maxAttempts: 3, backoff: { delay: '50ms', factor: 1 } });
            await channel.produce({ id: 1, username: 'a' });
            const reasons: string[] = [];
            await channel.consume(async (user, message, session) => {
                session.add(new WelcomeMail(user.id, message.attempt));
                if (message.attempt > 1) return;
                // Returns normally once aborted: only the abort keeps its writes and ack from committing.
                await new Promise(resolve => message.signal.addEventListener('abort', resolve));
                reasons.push((message.signal.reason as Error).name);
            }, { database, timeout: '200ms' });
            await waitFor(async () => (await stats()).doneLastHour === 1, 'the retry\'s ack');
            expect(reasons).toEqual(['QueueMessageAbortedError']);
            expect((await database.query(WelcomeMail).find()).map(v => v.attempt)).toEqual([2]);
            expect(await stats()).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 0 });
        });

        test('a cancelled callback settles nothing: its transaction rolls back (writes and ack), the message stays failed', async () => {
            // SQLite has one writer: the transaction holds the write lock, so a cancel waits for its end (see README).
            if (fixture.adapter.singleWriter) return;
            const channel = queue.channel<User>('users', { maxAttempts: 3 });
            const { id } = await channel.produce({ id: 1, username: 'a' });
            const started = deferred();
            const reasons: string[] = [];
            const ended = deferred();
            // Resolves once the callback's transaction has ended, committed or not.
            const transaction = database.transaction.bind(database);
            database.transaction = ((callback: any) => transaction(callback).finally(() => setImmediate(ended.resolve))) as typeof database.transaction;
            await channel.consume(async (user, message, session) => {
                session.add(new WelcomeMail(user.id, message.attempt));
                started.resolve();
                // Returns normally once aborted: only the abort keeps its writes and ack from committing.
                await new Promise(resolve => message.signal.addEventListener('abort', resolve));
                reasons.push((message.signal.reason as { kind: string }).kind);
            }, { database });
            await started.promise;
            expect(await queue.cancel('users', id)).toBe('cancelled');
            await within(ended.promise, 10_000, 'the end of the cancelled transaction');
            await waitFor(async () => (await stats()).inFlight === 0, 'the slot freed');
            expect(reasons).toEqual(['cancelled']);
            expect(await fixture.adapter.getMessage(id)).toMatchObject({ state: 'failed', error: 'cancelled' });
            expect(await database.query(WelcomeMail).find()).toEqual([]);
            expect(await stats()).toMatchObject({ pending: 0, inFlight: 0, failed: 1, doneLastHour: 0 });
        });

        test('a callback that throws rolls back its writes; the message is retried with backoff, then kept as failed', async () => {
            const channel = queue.channel<User>('users', { maxAttempts: 3, backoff: { delay: '300ms', factor: 1 } });
            await channel.produce({ id: 1, username: 'a' });
            const starts: number[] = [];
            const third = deferred();
            await channel.consume(async (user, message, session) => {
                starts.push(Date.now());
                session.add(new WelcomeMail(user.id, message.attempt));
                await session.flush();
                if (message.attempt === 2) return;
                throw new Error('boom ' + message.attempt);
            }, { database });
            await waitFor(async () => (await stats()).doneLastHour === 1, 'the second attempt committed', 15_000);
            expect(starts).toHaveLength(2);
            expect(starts[1] - starts[0]).toBeGreaterThanOrEqual(250);
            // Only the writes of the attempt that returned are kept.
            expect((await database.query(WelcomeMail).find()).map(v => v.attempt)).toEqual([2]);

            const failing = queue.channel<User>('doomed', { maxAttempts: 1 });
            await failing.produce({ id: 9, username: 'z' });
            await failing.consume(async (user, message, session) => {
                session.add(new WelcomeMail(user.id, 99));
                await session.flush();
                setImmediate(third.resolve);
                throw new Error('always');
            }, { database });
            await third.promise;
            const failed = await waitFor(async () => (await queue.listFailed('doomed'))[0], 'failed message');
            expect(failed.error).toContain('always');
            expect(await database.query(WelcomeMail).filter({ attempt: 99 }).count()).toBe(0);
        });

        test('message.delay() in a transactional callback reschedules in the same transaction, not counted as an attempt', async () => {
            const channel = queue.channel<User>('users');
            await channel.produce({ id: 1, username: 'a' });
            const attempts: number[] = [];
            const second = deferred();
            await channel.consume(async (user, message, session) => {
                attempts.push(message.attempt);
                session.add(new WelcomeMail(user.id, attempts.length));
                if (attempts.length === 1) message.delay('100ms');
                else setImmediate(second.resolve);
            }, { database });
            await second.promise;
            await waitFor(async () => (await stats()).doneLastHour === 1, 'the ack');
            expect(attempts).toEqual([1, 1]);
            expect(await database.query(WelcomeMail).count()).toBe(2);
        });

        test('maxParallel > 1 runs transactions at once; each message\'s writes happen once', async () => {
            const channel = queue.channel<number>('numbers');
            const count = 40;
            await channel.produceMany(Array.from({ length: count }, (_, n) => n));
            let done = 0;
            const all = deferred();
            await channel.consume(async (n, message, session) => {
                session.add(new WelcomeMail(n));
                await new Promise(resolve => setTimeout(resolve, 2));
                if (++done === count) setImmediate(all.resolve);
            }, { database, maxParallel: 4 });
            await all.promise;
            await waitFor(async () => (await stats('numbers')).doneLastHour === count, 'all acks');
            const rows = (await database.query(WelcomeMail).find()).map(v => v.userId).sort((a, b) => a - b);
            expect(rows).toEqual(Array.from({ length: count }, (_, n) => n));
        });

        test('a session of another database is refused at the call, and nothing is written anywhere', async () => {
            const channel = queue.channel<User>('users');
            const other = fixture.otherDatabase;
            await other.migrate();
            const refused = await other.transaction(async session => {
                session.add(new AppUser(1, 'peter'));
                return channel.produce({ id: 1, username: 'peter' }, { session }).catch(e => e);
            });
            expect(refused).toBeInstanceOf(QueueOptionError);
            expect(refused.message).toMatch(/joins transactions of its own (database|file) only/);
            expect(await fixture.otherHasQueueTables()).toBe(false);
            expect(await stats()).toMatchObject({ pending: 0 });

            const consumeError = await channel.consume(() => undefined, { database: other }).catch(e => e);
            expect(consumeError).toBeInstanceOf(QueueOptionError);
            expect(queue.activeConsumers).toBe(0);
            expect(await fixture.otherHasQueueTables()).toBe(false);
        });

        test('a session of another kind of database, one without a transaction, or no session at all is refused', async () => {
            const channel = queue.channel<User>('users');
            const memory = new Database(new MemoryDatabaseAdapter(), [AppUser]);
            const kind = await memory.transaction(session => channel.produce({ id: 1, username: 'a' }, { session }).catch(e => e));
            expect(kind).toBeInstanceOf(QueueOptionError);
            expect(kind.message).toContain("'memory' database");
            const plain = database.createSession();
            const noTransaction = await channel.produce({ id: 1, username: 'a' }, { session: plain }).catch(e => e);
            expect(noTransaction).toBeInstanceOf(QueueOptionError);
            expect(noTransaction.message).toContain('needs a session with a transaction');
            const notASession = await channel.produce({ id: 1, username: 'a' }, { session: {} as any }).catch(e => e);
            expect(notASession).toBeInstanceOf(QueueOptionError);
            const notADatabase = await channel.consume(() => undefined, { database: { adapter: 1 } as any }).catch(e => e);
            expect(notADatabase).toBeInstanceOf(QueueOptionError);
            expect(await stats()).toMatchObject({ pending: 0 });
        });

        test('a session whose transaction has ended is refused', async () => {
            const channel = queue.channel<User>('users');
            const session = database.createSession();
            session.useTransaction();
            session.add(new AppUser(1, 'a'));
            await session.commit();
            const error = await channel.produce({ id: 1, username: 'a' }, { session }).catch(e => e);
            expect(error).toBeInstanceOf(QueueOptionError);
            expect(await stats()).toMatchObject({ pending: 0 });
        });
    });
}
