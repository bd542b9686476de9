import { BrokerQueue as DeepkitBrokerQueue, BrokerQueueMessage as DeepkitMessage, QueueMessageProcessing as DeepkitProcessing } from '@deepkit/broker';
import Database from 'better-sqlite3';
import { BrokerQueue, SqliteQueueAdapter } from '../src';
import { expectDisconnectStopsStockConsumers } from './support/broker-compat';
import { tempDir } from './support/temp';
import { deferred, waitFor } from './support/wait';

type User = { id: number, username: string, registered: Date };

describe('@deepkit/broker compatibility: the stock BrokerQueue over SqliteQueueAdapter', () => {
    let dir: ReturnType<typeof tempDir>;
    let adapter: SqliteQueueAdapter;
    let ours: BrokerQueue;

    beforeEach(async () => {
        dir = tempDir();
        adapter = new SqliteQueueAdapter({ path: dir.file('queue.sqlite') });
        await adapter.connect();
        // Our own queue over the same file, to inspect what the stock class stored.
        ours = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }));
    });

    afterEach(async () => {
        await ours.close();
        await adapter.disconnect();
        dir.remove();
    });

    test('produce stores durably and consume delivers the deserialized type', async () => {
        const queue = new DeepkitBrokerQueue(adapter);
        const channel = queue.channel<User>('users');
        await channel.produce<User>({ id: 1, username: 'Peter', registered: new Date('2024-01-02T03:04:05Z') });
        expect((await ours.stats('users'))[0]).toMatchObject({ pending: 1 });

        const received = deferred<DeepkitMessage<User>>();
        const release = await channel.consume(message => received.resolve(message));
        const message = await received.promise;
        expect(message.channel).toBe('users');
        expect(message.data).toEqual({ id: 1, username: 'Peter', registered: new Date('2024-01-02T03:04:05Z') });
        expect(message.data.registered).toBeInstanceOf(Date);
        await release();
        await waitFor(async () => (await ours.stats('users'))[0].pending === 0 && (await ours.stats('users'))[0].inFlight === 0, 'message done');
    });

    test('a throwing callback is a failed attempt: retried, then kept as failed with its error', async () => {
        const channel = new DeepkitBrokerQueue(adapter).channel<User>('fails');
        await channel.produce<User>({ id: 2, username: 'Paul', registered: new Date() });
        const tries: number[] = [];
        const lastTry = deferred();
        // The stock channel catches the error and sets message.state = 'failed'.
        const release = await channel.consume(message => {
            tries.push(message.tries);
            if (tries.length === 5) lastTry.resolve();
            throw new Error('smtp down');
        });
        // Backoff 1s, 2s, 4s, 8s would take 15s: fast-forward by making retries due at once.
        const db = new Database(dir.file('queue.sqlite'));
        const fastForward = setInterval(() => db.prepare('UPDATE queue_messages SET available_at = 0 WHERE state = 0').run(), 50);
        try {
            await lastTry.promise;
        } finally {
            clearInterval(fastForward);
            db.close();
        }
        await release();
        const [failed] = await ours.listFailed('fails');
        expect(failed.error).toContain('smtp down');
        expect(failed.attempt).toBe(5);
        expect(tries).toEqual([1, 2, 3, 4, 5]);
    }, 30_000);

    test('message.delay(seconds) redelivers later without counting an attempt', async () => {
        const channel = new DeepkitBrokerQueue(adapter).channel<string>('delayed');
        await channel.produce<string>('hello');
        const deliveries: number[] = [];
        const second = deferred();
        const release = await channel.consume(message => {
            deliveries.push(Date.now());
            if (deliveries.length === 1) message.delay(0.3);
            else second.resolve();
        });
        await second.promise;
        await release();
        expect(deliveries[1] - deliveries[0]).toBeGreaterThanOrEqual(250);
    });

    test('exactlyOnce deduplicates on produce, as the stock options say', async () => {
        const channel = new DeepkitBrokerQueue(adapter).channel<string>('dedup', { process: DeepkitProcessing.exactlyOnce, deduplicationInterval: '1m' });
        await channel.produce<string>('same');
        await channel.produce<string>('same');
        await channel.produce<string>('other', { process: DeepkitProcessing.exactlyOnce, hash: 'h1' });
        await channel.produce<string>('other again', { process: DeepkitProcessing.exactlyOnce, hash: 'h1' });
        expect((await ours.stats('dedup'))[0].pending).toBe(2);
    });

    test('delay and priority produce options arrive resolved in milliseconds', async () => {
        const channel = new DeepkitBrokerQueue(adapter).channel<string>('options');
        await channel.produce<string>('later', { delay: '1h', process: DeepkitProcessing.atLeastOnce });
        await channel.produce<string>('low', { priority: 1, process: DeepkitProcessing.atLeastOnce });
        await channel.produce<string>('high', { priority: 9, process: DeepkitProcessing.atLeastOnce });
        expect((await ours.stats('options'))[0]).toMatchObject({ pending: 2, delayed: 1 });
        const got: string[] = [];
        const two = deferred();
        const release = await channel.consume(message => {
            got.push(message.data);
            if (got.length === 2) two.resolve();
        });
        await two.promise;
        await release();
        expect(got).toEqual(['high', 'low']);
    });

    test('disconnect() stops consumers started through the stock class', async () => {
        await expectDisconnectStopsStockConsumers(adapter, ours);
    });
});
