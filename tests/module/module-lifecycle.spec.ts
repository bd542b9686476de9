import { BrokerQueue, BrokerQueueLifecycle, BrokerQueueLifecycleOptions, QueueLogger, SqliteQueueAdapter } from '../../src';
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

/** Records exits instead of ending the test process, and when a signal has been handled. */
class RecordingLifecycle extends BrokerQueueLifecycle {
    readonly exits: number[] = [];
    readonly exited = deferred<number>();
    readonly handled = deferred<Promise<void>>();

    constructor(options: BrokerQueueLifecycleOptions, logger: QueueLogger) {
        super(options, logger);
    }

    protected override exit(code: number): void {
        this.exits.push(code);
        this.exited.resolve(code);
    }

    protected override onSignal(signal: NodeJS.Signals): Promise<void> {
        const handling = super.onSignal(signal);
        this.handled.resolve(handling);
        return handling;
    }
}

describe('BrokerQueueLifecycle: signals', () => {
    let dir: ReturnType<typeof tempDir>;
    let inspector: BrokerQueue;
    let logger: MemoryLogger;
    let foreign: Map<NodeJS.Signals, NodeJS.SignalsListener[]>;

    beforeEach(() => {
        // Whatever else listens for these signals in the test process would change what the lifecycle does.
        foreign = new Map((['SIGTERM', 'SIGINT'] as NodeJS.Signals[]).map(signal => [signal, process.listeners(signal) as NodeJS.SignalsListener[]]));
        for (const [signal, listeners] of foreign) for (const listener of listeners) process.removeListener(signal, listener);
        dir = tempDir();
        logger = new MemoryLogger();
        inspector = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
    });

    afterEach(async () => {
        await inspector.close();
        dir.remove();
        for (const [signal, listeners] of foreign) for (const listener of listeners) process.on(signal, listener);
    });

    /** A queue under a lifecycle with signal handling, and one message whose callback waits for `finish`. */
    async function consuming(shutdownTimeout: number) {
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
        const lifecycle = new RecordingLifecycle({ shutdownTimeout, handleSignals: true }, logger);
        lifecycle.attach(queue);
        const channel = queue.channel<number>('jobs');
        const started = deferred<AbortSignal>();
        const finish = deferred();
        let finished = false;
        await channel.consume(async (_, message) => {
            started.resolve(message.signal);
            await finish.promise;
            finished = true;
        });
        await channel.produce(1);
        const signal = await started.promise;
        return { queue, lifecycle, finish, signal, finished: () => finished };
    }

    /**
     * Delivers a signal as Node does, to the listeners of `process`. Not process.kill(): jest gives
     * tests their own `process` object, whose listeners are no OS signal handlers, so a real signal
     * would end the test run. Real signals are sent to real processes in server-shutdown.spec.ts.
     */
    function kill(signal: NodeJS.Signals): void {
        expect(process.listenerCount(signal)).toBeGreaterThan(0);
        process.emit(signal, signal);
    }

    const stats = async () => (await inspector.stats('jobs'))[0];

    test('SIGTERM while a callback runs: it finishes and is settled, the storage closes, exit code 0', async () => {
        const { queue, lifecycle, finish, finished } = await consuming(60_000);
        kill('SIGTERM');
        await logger.waitForLine('received SIGTERM; stopping 1 consumer(s)');
        expect(lifecycle.exits).toEqual([]);
        finish.resolve();
        expect(await lifecycle.exited.promise).toBe(0);
        expect(finished()).toBe(true);
        expect(await stats()).toMatchObject({ pending: 0, inFlight: 0, doneLastHour: 1 });
        await expect(queue.connect()).rejects.toMatchObject({ name: 'QueueClosedError' });
        expect(process.listenerCount('SIGTERM') + process.listenerCount('SIGINT')).toBe(0);
    });

    test('callbacks abandoned at the shutdown timeout: their messages are handed back, message.signal is aborted, exit code 1', async () => {
        const { lifecycle, finish, signal } = await consuming(50);
        kill('SIGINT');
        expect(await lifecycle.exited.promise).toBe(1);
        expect(signal.reason).toMatchObject({ kind: 'shutdown' });
        expect(await stats()).toMatchObject({ pending: 1, inFlight: 0, doneLastHour: 0 });
        finish.resolve();
    });

    test('a second signal while stopping exits with code 1 at once', async () => {
        const { lifecycle, finish, finished } = await consuming(60_000);
        kill('SIGTERM');
        await logger.waitForLine('stopping 1 consumer(s)');
        kill('SIGTERM');
        expect(await lifecycle.exited.promise).toBe(1);
        expect(finished()).toBe(false);
        expect(logger.lines.join('\n')).toContain('received SIGTERM again while stopping');
        // In a real process the exit above ended everything; here the stop goes on.
        finish.resolve();
        await lifecycle.stop('test');
        expect(process.listenerCount('SIGTERM') + process.listenerCount('SIGINT')).toBe(0);
    });

    test('with other listeners for the signal, consumers stop and the storage closes, but the lifecycle does not exit', async () => {
        const other = () => undefined;
        process.on('SIGTERM', other);
        try {
            const { queue, lifecycle, finish } = await consuming(60_000);
            finish.resolve();
            kill('SIGTERM');
            await (await lifecycle.handled.promise);
            expect(lifecycle.exits).toEqual([]);
            expect(await stats()).toMatchObject({ pending: 0, inFlight: 0, doneLastHour: 1 });
            await expect(queue.connect()).rejects.toMatchObject({ name: 'QueueClosedError' });
            expect(process.listeners('SIGTERM')).toEqual([other]);
        } finally {
            process.removeListener('SIGTERM', other);
        }
    });
});
