import {
    BrokerQueue, parseChannelOptions, parseConsumeOptions, parseDuration, parseProduceOptions, defaultChannelOptions,
    QueueMessageProcessing, QueueOptionError, SqliteQueueAdapter,
} from '../src';
import { MemoryLogger } from './support/logger';

describe('durations', () => {
    test.each([
        ['500ms', 500], ['1s', 1000], ['1.5s', 1500], ['5m', 300_000], ['1h', 3_600_000], ['2d', 172_800_000], [0, 0], [250, 250],
    ])('%p is %p ms', (input, ms) => {
        expect(parseDuration(input, 'x')).toBe(ms);
    });

    test.each(['1 sec', '5 minutes', '', 's', '1S', '-1s', ' 1s', '1s ', 'abc'])('%p is a named error', input => {
        expect(() => parseDuration(input, 'lease')).toThrow(QueueOptionError);
        expect(() => parseDuration(input, 'lease')).toThrow(/Option 'lease' has the invalid duration/);
    });

    test.each([-5, NaN, Infinity])('%p is a named error', input => {
        expect(() => parseDuration(input, 'delay')).toThrow(/Option 'delay' must be a finite duration/);
    });

    test('a non-string, non-number is a named error', () => {
        expect(() => parseDuration({} as any, 'delay')).toThrow(QueueOptionError);
    });
});

describe('options', () => {
    test('channel defaults', () => {
        expect(parseChannelOptions()).toEqual({
            process: QueueMessageProcessing.atLeastOnce,
            deduplicationInterval: 300_000,
            maxAttempts: 5,
            backoff: { delay: 1000, factor: 2, maxDelay: 600_000 },
            lease: 30_000,
            retention: 0,
        });
    });

    test.each([
        [{ process: 3 }, /'process' must be QueueMessageProcessing/],
        [{ process: 'exactlyOnce' }, /'process' must be QueueMessageProcessing/],
        [{ maxAttempts: 0 }, /'maxAttempts' must be an integer from 1/],
        [{ maxAttempts: 1.5 }, /'maxAttempts' must be an integer/],
        [{ lease: '1 sec' }, /'lease' has the invalid duration/],
        [{ lease: 10 }, /'lease' must be a finite duration of at least 100ms/],
        [{ deduplicationInterval: '' }, /'deduplicationInterval' has the invalid duration/],
        [{ backoff: { factor: 0.5 } }, /'backoff.factor' must be a number of at least 1/],
        [{ backoff: { delay: -5 } }, /'backoff.delay' must be a finite duration/],
        [{ backoff: { jitter: true } }, /Unknown backoff option 'jitter'/],
        [{ retries: 3 }, /Unknown channel option 'retries'/],
    ])('channel option %p is rejected', (options, message) => {
        expect(() => parseChannelOptions(options as any)).toThrow(QueueOptionError);
        expect(() => parseChannelOptions(options as any)).toThrow(message);
    });

    test.each([
        [{ delay: '1 sec' }, /'delay' has the invalid duration/],
        [{ delay: -5 }, /'delay' must be a finite duration/],
        [{ priority: 1.5 }, /'priority' must be an integer/],
        [{ hash: {} }, /'hash' must be a string or a number/],
        [{ ttl: 5 }, /Unknown produce option 'ttl'/],
    ])('produce option %p is rejected', (options, message) => {
        expect(() => parseProduceOptions(options as any, defaultChannelOptions)).toThrow(message);
    });

    test.each([
        [{ maxParallel: 0 }, /'maxParallel' must be an integer from 1/],
        [{ maxParallel: '4' }, /'maxParallel' must be an integer/],
        [{ prefetch: 1000 }, /'prefetch' must be an integer from 0 to 256/],
        [{ parallel: 2 }, /Unknown consume option 'parallel'/],
    ])('consume option %p is rejected', (options, message) => {
        expect(() => parseConsumeOptions(options as any)).toThrow(message);
    });

    test('produce resolves the channel processing and per-message overrides', () => {
        const exactly = parseChannelOptions({ process: QueueMessageProcessing.exactlyOnce, deduplicationInterval: '1s' });
        expect(parseProduceOptions(undefined, exactly)).toEqual({ delay: 0, priority: 0, deduplication: { hash: undefined, interval: 1000 } });
        expect(parseProduceOptions({ hash: 42, deduplicationInterval: '500ms', delay: '1s', priority: 3 }, exactly))
            .toEqual({ delay: 1000, priority: 3, deduplication: { hash: '42', interval: 500 } });
        expect(parseProduceOptions({ process: QueueMessageProcessing.atLeastOnce }, exactly)).toEqual({ delay: 0, priority: 0 });
    });

    test('bad options reject before anything is stored', async () => {
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path: ':memory:' }), { logger: new MemoryLogger() });
        const channel = queue.channel<number>('n');
        await expect(channel.produce(1, { delay: '1 sec' })).rejects.toThrow(QueueOptionError);
        await expect(channel.produceMany([1, 2], { priority: 0.5 })).rejects.toThrow(QueueOptionError);
        await expect(channel.consume(() => undefined, { maxParallel: -1 })).rejects.toThrow(QueueOptionError);
        expect(() => queue.channel<number>('', {})).toThrow(/channel name must be a string of 1 to 255/);
        expect(() => queue.channel<number>('n', { lease: 'soon' })).toThrow(QueueOptionError);
        expect(() => new BrokerQueue(new SqliteQueueAdapter({ path: ':memory:' }), { pollInterval: '1 sec' })).toThrow(QueueOptionError);
        expect(() => new SqliteQueueAdapter({ synchronous: 'off' as any })).toThrow(/'synchronous' must be 'full' or 'normal'/);
        expect(() => new SqliteQueueAdapter({ busyTimeout: '10 seconds' })).toThrow(QueueOptionError);
        expect(() => new SqliteQueueAdapter({ cacheSizeMb: 0 })).toThrow(/'cacheSizeMb' must be a positive number/);
        expect(() => new SqliteQueueAdapter({ cacheSizeMb: '16' as any })).toThrow(QueueOptionError);
        expect((await queue.stats('n'))[0]).toMatchObject({ pending: 0, delayed: 0 });
        await queue.close();
    });
});
