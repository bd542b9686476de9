import {
    BrokerQueue, parseChannelOptions, parseConsumeOptions, parseDuration, parseProduceOptions, defaultChannelOptions,
    PostgresQueueAdapter, QueueMessageProcessing, QueueOptionError, SqliteQueueAdapter,
} from '../src';
import { backoffDelay } from '../src/options';
import { MemoryLogger } from './support/logger';
import { waitFor } from './support/wait';

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

    test('by default at most 2^31 - 1 ms: Node runs a longer timer after 1 ms', () => {
        expect(parseDuration(2 ** 31 - 1, 'x')).toBe(2 ** 31 - 1);
        expect(parseDuration('24d', 'x')).toBe(24 * 86_400_000);
        for (const input of [2 ** 31, '25d', '30d', 1e300]) {
            expect(() => parseDuration(input, 'pollInterval')).toThrow(QueueOptionError);
            expect(() => parseDuration(input, 'pollInterval')).toThrow(/Option 'pollInterval' must be a duration of at most 2147483647ms/);
        }
    });
});

describe('duration bounds at every option', () => {
    const adapter = () => new SqliteQueueAdapter({ path: ':memory:' });

    test.each(['pollInterval', 'reclaimInterval', 'pruneInterval'])('queue option %s feeds a timer: at most 2^31 - 1 ms', option => {
        expect(() => new BrokerQueue(adapter(), { [option]: 2 ** 31 - 1 })).not.toThrow();
        expect(() => new BrokerQueue(adapter(), { [option]: '30d' })).toThrow(new RegExp(`'${option}' must be a duration of at most 2147483647ms`));
    });

    test('the lease feeds the renewal timer: at most 2^31 - 1 ms, also as a queue-wide default', () => {
        expect(parseChannelOptions({ lease: 2 ** 31 - 1 }).lease).toBe(2 ** 31 - 1);
        expect(() => parseChannelOptions({ lease: '90d' })).toThrow(/'lease' must be a duration of at most 2147483647ms/);
        expect(() => new BrokerQueue(adapter(), { channelDefaults: { lease: '90d' } })).toThrow(QueueOptionError);
    });

    test('stopConsumers(timeout) and the adapters\' timeouts feed timers', async () => {
        const queue = new BrokerQueue(adapter(), { logger: new MemoryLogger() });
        await expect(queue.stopConsumers('30d')).rejects.toThrow(/'timeout' must be a duration of at most/);
        await queue.close();
        expect(() => new SqliteQueueAdapter({ busyTimeout: '30d' })).toThrow(/'busyTimeout' must be a duration of at most 2147483647ms/);
        expect(() => new PostgresQueueAdapter({ connectionString: 'postgres://x', connectTimeout: '30d' })).toThrow(/'connectTimeout' must be a duration of at most/);
        expect(() => new PostgresQueueAdapter({ connectionString: 'postgres://x', queryTimeout: '30d' })).toThrow(/'queryTimeout' must be a duration of at most/);
    });

    test('durations stored with a message may be longer, up to 36,500 days', () => {
        const exactly = parseChannelOptions({ process: QueueMessageProcessing.exactlyOnce });
        expect(parseProduceOptions({ delay: '36500d' }, defaultChannelOptions).delay).toBe(36_500 * 86_400_000);
        expect(parseProduceOptions({ deduplicationInterval: '400d' }, exactly).deduplication!.interval).toBe(400 * 86_400_000);
        expect(parseChannelOptions({ retention: '36500d', deduplicationInterval: '36500d', backoff: { delay: '30d', maxDelay: '36500d' } }))
            .toMatchObject({ retention: 36_500 * 86_400_000, deduplicationInterval: 36_500 * 86_400_000, backoff: { delay: 30 * 86_400_000, maxDelay: 36_500 * 86_400_000 } });
        const tooLong = /must be a duration of at most 3153600000000ms \(36500 days\)/;
        expect(() => parseProduceOptions({ delay: '36501d' }, defaultChannelOptions)).toThrow(tooLong);
        expect(() => parseProduceOptions({ delay: 1e300 }, defaultChannelOptions)).toThrow(tooLong);
        expect(() => parseProduceOptions({ deduplicationInterval: '36501d' }, exactly)).toThrow(tooLong);
        expect(() => parseChannelOptions({ retention: '36501d' })).toThrow(tooLong);
        expect(() => parseChannelOptions({ deduplicationInterval: '36501d' })).toThrow(tooLong);
        expect(() => parseChannelOptions({ backoff: { maxDelay: '36501d' } })).toThrow(tooLong);
    });

    test('backoff never computes NaN or more than maxDelay, however many attempts', () => {
        expect(backoffDelay({ delay: 0, factor: 2, maxDelay: 600_000 }, 5000)).toBe(0);
        expect(backoffDelay({ delay: 1000, factor: 2, maxDelay: 600_000 }, 5000)).toBe(600_000);
        expect(backoffDelay({ delay: 1000, factor: 10, maxDelay: 36_500 * 86_400_000 }, 400)).toBe(36_500 * 86_400_000);
    });

    test('an idle consumer at the longest pollInterval waits instead of polling in a loop', async () => {
        const claims: number[] = [];
        class CountingAdapter extends SqliteQueueAdapter {
            override async claim(...args: Parameters<SqliteQueueAdapter['claim']>) {
                claims.push(Date.now());
                return super.claim(...args);
            }
        }
        const queue = new BrokerQueue(new CountingAdapter({ path: ':memory:' }), { logger: new MemoryLogger(), pollInterval: 2 ** 31 - 1 });
        const channel = queue.channel<number>('n');
        // Delayed past the poll interval: the consumer waits min(pollInterval, next availability).
        await channel.produce(1, { delay: '30d' });
        const release = await channel.consume(() => undefined);
        await waitFor(() => claims.length, 'the first claim');
        await new Promise(resolve => setTimeout(resolve, 300));
        await release();
        await queue.close();
        // A timer turned into 1 ms claims hundreds of times in that window.
        expect(claims.length).toBeLessThan(5);
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
            flow: {},
            maxMessageSize: 16 * 1024 * 1024,
        });
    });

    test('flow options parse once; consume options override the channel\'s', () => {
        expect(parseChannelOptions({ concurrency: 2, rateLimit: { max: 100, per: '1s' } }).flow).toEqual({ concurrency: 2, rate: { max: 100, per: 1000 } });
        expect(parseConsumeOptions({ concurrency: 3 }).flow).toEqual({ concurrency: 3 });
        expect(parseConsumeOptions().flow).toEqual({});
        expect(() => parseConsumeOptions({ rateLimit: { max: 0, per: '1s' } })).toThrow(/'rateLimit.max' must be an integer from 1/);
        expect(() => parseChannelOptions({ rateLimit: { max: 1, per: '1s', burst: 2 } as any })).toThrow(/Unknown rateLimit option 'burst'/);
    });

    test.each([
        [{ process: 3 }, /'process' must be QueueMessageProcessing/],
        [{ process: 'exactlyOnce' }, /'process' must be QueueMessageProcessing/],
        [{ maxAttempts: 0 }, /'maxAttempts' must be an integer from 1/],
        [{ maxAttempts: 1.5 }, /'maxAttempts' must be an integer/],
        // Stored as a PostgreSQL integer: a larger value failed every produce sharing its commit.
        [{ maxAttempts: 2 ** 31 }, /'maxAttempts' must be an integer from 1 to 2147483647/],
        [{ maxAttempts: Number.MAX_SAFE_INTEGER }, /'maxAttempts' must be an integer from 1 to 2147483647/],
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
        [{ priority: 2 ** 31 }, /'priority' must be an integer from -2147483648 to 2147483647/],
        [{ hash: {} }, /'hash' must be a string or a number/],
        [{ hash: 'a\0b' }, /'hash' must be at most 1024 bytes in UTF-8 and contain no NUL/],
        [{ ttl: 5 }, /Unknown produce option 'ttl'/],
    ])('produce option %p is rejected', (options, message) => {
        expect(() => parseProduceOptions(options as any, defaultChannelOptions)).toThrow(message);
    });

    test.each([
        [{ maxParallel: 0 }, /'maxParallel' must be an integer from 1/],
        [{ maxParallel: '4' }, /'maxParallel' must be an integer/],
        [{ prefetch: 1000 }, /'prefetch' must be an integer from 0 to 256/],
        [{ parallel: 2 }, /Unknown consume option 'parallel'/],
        [{ prefetchBytes: '64 MB' }, /Option 'prefetchBytes' has the invalid size "64 MB"/],
        [{ prefetchBytes: 0 }, /'prefetchBytes' must be a size from 1/],
        [{ prefetchBytes: '1mb' }, /'prefetchBytes' must be at least the channel's maxMessageSize \(16777216 bytes\)/],
    ])('consume option %p is rejected', (options, message) => {
        expect(() => parseConsumeOptions(options as any)).toThrow(message);
    });

    test('sizes: bytes or a number with a binary unit; maxMessageSize defaults to 16 MiB, prefetchBytes to 64 MiB', () => {
        expect(defaultChannelOptions.maxMessageSize).toBe(16 * 1024 * 1024);
        expect(parseChannelOptions({ maxMessageSize: '512kb' }).maxMessageSize).toBe(512 * 1024);
        expect(parseChannelOptions({ maxMessageSize: '1.5MB' }).maxMessageSize).toBe(1.5 * 1024 * 1024);
        expect(parseChannelOptions({ maxMessageSize: 1000 }).maxMessageSize).toBe(1000);
        expect(parseChannelOptions({}, parseChannelOptions({ maxMessageSize: '1kb' })).maxMessageSize).toBe(1024);
        expect(() => parseChannelOptions({ maxMessageSize: '16 megabytes' })).toThrow(/Option 'maxMessageSize' has the invalid size/);
        expect(() => parseChannelOptions({ maxMessageSize: '2gb' })).toThrow(/'maxMessageSize' must be a size from 1 to 1000000000 bytes/);
        expect(() => parseChannelOptions({ maxMessageSize: true as any })).toThrow(/'maxMessageSize' must be a size/);
        expect(parseConsumeOptions().prefetchBytes).toBe(64 * 1024 * 1024);
        const large = parseChannelOptions({ maxMessageSize: '100mb' });
        expect(parseConsumeOptions({}, large).prefetchBytes).toBe(100 * 1024 * 1024);
        expect(parseConsumeOptions({ prefetchBytes: '100mb' }, large).prefetchBytes).toBe(100 * 1024 * 1024);
        expect(() => parseConsumeOptions({ prefetchBytes: '64mb' }, large)).toThrow(/'prefetchBytes' must be at least/);
    });

    test('a hash must fit the storage: 1024 bytes of UTF-8 (a PostgreSQL index entry)', () => {
        const exactly = parseChannelOptions({ process: QueueMessageProcessing.exactlyOnce });
        expect(parseProduceOptions({ hash: 'é'.repeat(512) }, exactly).deduplication!.hash).toHaveLength(512);
        expect(() => parseProduceOptions({ hash: 'é'.repeat(513) }, exactly)).toThrow(/'hash' must be at most 1024 bytes/);
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
        expect(() => queue.channel<number>('a\0b', {})).toThrow(/channel name must be a string of 1 to 255 characters without NUL/);
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
