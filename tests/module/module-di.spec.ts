import { App } from '@deepkit/app';
import { BrokerQueue as DeepkitBrokerQueue } from '@deepkit/broker';
import { FrameworkModule } from '@deepkit/framework';
import { provide } from '@deepkit/injector';
import { BrokerQueue, BrokerQueueChannel, QueueMessageProcessing, QueueStorageAdapter, SqliteQueueAdapter } from '../../src';
import { Mail, MailChannel, mailChannelProvider, Order, OrderChannel, orderChannelProvider } from '../fixtures/channels';
import { tempDir } from '../support/temp';
import { stockQueueCommand } from '../fixtures/stock-broker';
import { queueApp } from './app-fixture';

describe('BrokerQueueModule: dependency injection', () => {
    let dir: ReturnType<typeof tempDir>;
    const apps: { get: (token: any) => any }[] = [];

    beforeEach(() => dir = tempDir());
    afterEach(async () => {
        for (const app of apps.splice(0)) await app.get(BrokerQueue).close();
        dir.remove();
    });

    function make(options: Parameters<typeof queueApp>[1] = {}) {
        const { app } = queueApp(dir.file('queue.sqlite'), options);
        apps.push(app);
        return app;
    }

    test('two channel aliases over different types resolve to their own channels', async () => {
        const app = make({ providers: [orderChannelProvider, mailChannelProvider] });
        const orders = app.get<OrderChannel>();
        const mails = app.get<MailChannel>();
        expect(orders).toBeInstanceOf(BrokerQueueChannel);
        expect(orders.name).toBe('orders');
        expect(mails.name).toBe('mails');
        expect(mails.options.maxAttempts).toBe(2);
        // Each channel validates against its own type.
        await expect(orders.produce({ to: 'x', subject: 'y', sentAt: new Date() } as any)).rejects.toThrow("Invalid message for channel 'orders'");
        await orders.produce({ orderId: 1, amount: 9.5 });
        await mails.produce({ to: 'a@b.c', subject: 'hi', sentAt: new Date(0) });
        // Both share the module's one queue.
        expect(orders.queue).toBe(app.get(BrokerQueue));
        expect(mails.queue).toBe(orders.queue);
        const stats = await orders.queue.stats();
        expect(stats.map(v => [v.channel, v.pending])).toEqual([['mails', 1], ['orders', 1]]);
    });

    test('a command gets the channel by its alias', async () => {
        const app = make({ providers: [orderChannelProvider, mailChannelProvider] });
        let received: [string, string] | undefined;
        app.command('check', (orders: OrderChannel, mails: MailChannel) => { received = [orders.name, mails.name]; });
        expect(await app.execute(['check'])).toBe(0);
        expect(received).toEqual(['orders', 'mails']);
    });

    test('a channel alias without a provider fails with an error naming it', () => {
        const app = make({ providers: [orderChannelProvider] });
        expect(() => app.get<MailChannel>()).toThrow(/MailChannel/);
    });

    test('a command whose channel has no provider fails with exit code 1 and a log naming it', async () => {
        const { app, logger } = queueApp(dir.file('queue.sqlite'), { providers: [orderChannelProvider] });
        apps.push(app);
        app.command('mail', (mails: MailChannel) => void mails);
        expect(await app.execute(['mail'])).toBe(1);
        expect(logger.memory.messages.map(v => v.message).join('\n')).toContain("Service 'MailChannel' not found");
    });

    test('a channel provider without the module fails with an error naming BrokerQueue', () => {
        const app = new App({ providers: [orderChannelProvider] });
        expect(() => app.get<OrderChannel>()).toThrow(/BrokerQueue/);
    });

    test('our BrokerQueue and @deepkit/broker\'s BrokerQueue from FrameworkModule never clash', async () => {
        const app = make({ imports: [new FrameworkModule({})], providers: [orderChannelProvider] });
        const seen: unknown[] = [];
        app.command('ours', (queue: BrokerQueue) => { seen.push(queue); });
        app.command('stock', stockQueueCommand(seen));
        const ours = app.get(BrokerQueue);
        const stock = app.get(DeepkitBrokerQueue);
        expect(ours).toBeInstanceOf(BrokerQueue);
        expect(stock).toBeInstanceOf(DeepkitBrokerQueue);
        expect(ours).not.toBe(stock as unknown);
        expect(app.get<OrderChannel>().queue).toBe(ours);
        // Also as command parameters.
        expect(await app.execute(['ours'])).toBe(0);
        expect(await app.execute(['stock'])).toBe(0);
        expect(seen).toEqual([ours, stock]);
    });

    test('the adapter follows the config, and one the app provides wins', () => {
        const configured = make({ config: { durability: 'normal' } }).get(QueueStorageAdapter);
        expect(configured).toBeInstanceOf(SqliteQueueAdapter);
        expect((configured as SqliteQueueAdapter).options).toMatchObject({ path: dir.file('queue.sqlite'), synchronous: 'normal' });

        const own = new SqliteQueueAdapter({ path: dir.file('own.sqlite') });
        const app = make({ providers: [{ provide: QueueStorageAdapter, useValue: own }] });
        expect(app.get(BrokerQueue).adapter).toBe(own);
        expect(app.get(QueueStorageAdapter)).toBe(own);
    });

    test('config defaults reach every channel; a channel\'s own options win', () => {
        const providers = [orderChannelProvider, mailChannelProvider, provide<BrokerQueueChannel<string>>((queue: BrokerQueue) => queue.channel<string>('s', { process: QueueMessageProcessing.exactlyOnce }))];
        const app = make({ providers, config: { lease: '1m', maxAttempts: 7, maxMessageSize: '1mb', backoff: { delay: '2s', factor: 3, maxDelay: '1h' } } });
        expect(app.get<OrderChannel>().options).toMatchObject({ lease: 60_000, maxAttempts: 7, maxMessageSize: 1024 * 1024, backoff: { delay: 2000, factor: 3, maxDelay: 3_600_000 } });
        expect(app.get<MailChannel>().options).toMatchObject({ lease: 60_000, maxAttempts: 2 });
    });

    test('config loads from the environment the Deepkit way', () => {
        const env = {
            APP_BROKER_QUEUE_SQLITE_PATH: dir.file('env.sqlite'),
            APP_BROKER_QUEUE_DURABILITY: 'normal',
            APP_BROKER_QUEUE_MAX_ATTEMPTS: '9',
            APP_BROKER_QUEUE_LEASE: '45000',
            APP_BROKER_QUEUE_BACKOFF_DELAY: '250ms',
            APP_BROKER_QUEUE_MAX_MESSAGE_SIZE: '65536',
        };
        Object.assign(process.env, env);
        try {
            const { app } = queueApp(dir.file('ignored.sqlite'), { providers: [orderChannelProvider] });
            app.loadConfigFromEnv();
            apps.push(app);
            expect((app.get(QueueStorageAdapter) as SqliteQueueAdapter).options).toMatchObject({ path: env.APP_BROKER_QUEUE_SQLITE_PATH, synchronous: 'normal' });
            expect(app.get<OrderChannel>().options).toMatchObject({ maxAttempts: 9, lease: 45_000, maxMessageSize: 65_536, backoff: { delay: 250, factor: 2 } });
        } finally {
            for (const key of Object.keys(env)) delete process.env[key];
        }
    });

    test('a bad config value fails at startup with a message naming the field', () => {
        const { app } = queueApp(dir.file('queue.sqlite'), { config: { lease: 'soon' } });
        expect(() => app.get(BrokerQueue)).toThrow(/Invalid BrokerQueueModule configuration: Option 'lease' has the invalid duration "soon"/);
        const pg = queueApp(dir.file('queue.sqlite'), { config: { adapter: 'postgres' } }).app;
        expect(() => pg.get(BrokerQueue)).toThrow(/postgresUrl' is required/);
    });

    test('types survive the round trip through the module', async () => {
        const app = make({ providers: [mailChannelProvider] });
        const mails = app.get<MailChannel>();
        await mails.produce({ to: 'a@b.c', subject: 'hi', sentAt: new Date('2024-05-06T07:08:09Z') });
        const got = await new Promise<Mail>(resolve => void mails.consume(mail => resolve(mail)));
        expect(got.sentAt).toBeInstanceOf(Date);
        expect(got.sentAt.toISOString()).toBe('2024-05-06T07:08:09.000Z');
        const unused: Order | undefined = undefined;
        expect(unused).toBeUndefined();
    });
});
