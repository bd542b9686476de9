import { BrokerQueue, BrokerQueueLifecycle, SqliteQueueAdapter } from '../../src';
import { OrderChannel, orderChannelProvider } from '../fixtures/channels';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';
import { deferred, waitFor } from '../support/wait';
import { queueApp } from './app-fixture';

describe('BrokerQueueModule: lifecycle', () => {
    let dir: ReturnType<typeof tempDir>;
    let inspector: BrokerQueue;

    beforeEach(() => {
        dir = tempDir();
        inspector = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
    });
    afterEach(async () => {
        await inspector.close();
        dir.remove();
    });

    const connected = (queue: BrokerQueue) => (queue as any).connected !== undefined;

    test('app shutdown after a consumer command keeps the consumer running, with signal handlers; release disconnects', async () => {
        const { app, logger } = queueApp(dir.file('queue.sqlite'), { providers: [orderChannelProvider], config: { handleSignals: true } });
        const received: number[] = [];
        let release!: () => Promise<void>;
        const sigterm = process.listenerCount('SIGTERM');
        app.command('consumer', async (orders: OrderChannel) => {
            release = await orders.consume(order => void received.push(order.orderId));
        });
        // execute() fires onAppShutdown as soon as the command returns.
        expect(await app.execute(['consumer'])).toBe(0);
        const queue = app.get(BrokerQueue);
        expect(queue.activeConsumers).toBe(1);
        expect(process.listenerCount('SIGTERM')).toBe(sigterm + 1);
        expect(process.listenerCount('SIGINT')).toBeGreaterThan(0);
        expect(logger.memory.messages.map(v => v.message)).toContain('Queue: 1 consumer(s) keep running until SIGTERM or SIGINT');

        await inspector.channel<{ orderId: number, amount: number }>('orders').produce({ orderId: 7, amount: 1 });
        await waitFor(() => received.length === 1, 'the consumer to receive the order');
        expect(received).toEqual([7]);

        await release();
        expect(process.listenerCount('SIGTERM')).toBe(sigterm);
        await waitFor(() => !connected(queue), 'the queue to disconnect after the last consumer');
        await queue.close();
    });

    test('app shutdown disconnects an idle queue, which connects again on the next command', async () => {
        const { app } = queueApp(dir.file('queue.sqlite'), { providers: [orderChannelProvider] });
        app.command('produce', async (orders: OrderChannel) => {
            await orders.produce({ orderId: 1, amount: 2 });
        });
        expect(await app.execute(['produce'])).toBe(0);
        const queue = app.get(BrokerQueue);
        expect(connected(queue)).toBe(false);
        expect(await app.execute(['produce'])).toBe(0);
        expect((await inspector.stats('orders'))[0].pending).toBe(2);
        await queue.close();
    });

    test('stop() lets a running callback finish and settles it: nothing stays leased', async () => {
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
        const lifecycle = new BrokerQueueLifecycle({ shutdownTimeout: 5000, handleSignals: false }, new MemoryLogger());
        lifecycle.attach(queue);
        const channel = queue.channel<number>('slow');
        const started = deferred();
        let finished = false;
        await channel.consume(async () => {
            started.resolve();
            await new Promise(resolve => setTimeout(resolve, 300));
            finished = true;
        });
        await channel.produce(1);
        await started.promise;
        expect(await lifecycle.stop('test')).toBe(0);
        expect(finished).toBe(true);
        expect((await inspector.stats('slow'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0, doneLastHour: 1 });
    });

    test('stop() past shutdownTimeout hands the running message back and reports exit code 1', async () => {
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
        const logger = new MemoryLogger();
        const lifecycle = new BrokerQueueLifecycle({ shutdownTimeout: 100, handleSignals: false }, logger);
        lifecycle.attach(queue);
        const channel = queue.channel<number>('stuck');
        const started = deferred();
        const never = deferred();
        await channel.consume(async () => {
            started.resolve();
            await never.promise;
        });
        await channel.produce(1);
        await started.promise;
        expect(await lifecycle.stop('test')).toBe(1);
        expect(logger.lines.join('\n')).toContain('handed back for redelivery');
        expect((await inspector.stats('stuck'))[0]).toMatchObject({ pending: 1, inFlight: 0 });
        never.resolve();
    });
});
