import { BrokerQueue as DeepkitBrokerQueue } from '@deepkit/broker';
import { BrokerQueue, QueueStorageAdapter } from '../../src';
import { deferred } from './wait';

/**
 * Shared by every adapter's compatibility tests: `adapter.disconnect()` waits for a
 * callback started through the stock `@deepkit/broker` class, then leaves nothing
 * pending or leased (`ours` reads the same storage).
 */
export async function expectDisconnectStopsStockConsumers(adapter: QueueStorageAdapter, ours: BrokerQueue): Promise<void> {
    const channel = new DeepkitBrokerQueue(adapter).channel<string>('stop');
    const started = deferred();
    const finish = deferred();
    let finished = false;
    await channel.consume(async () => {
        started.resolve();
        await finish.promise;
        finished = true;
    });
    await channel.produce<string>('x');
    await started.promise;
    const disconnected = adapter.disconnect();
    finish.resolve();
    await disconnected;
    expect(finished).toBe(true);
    expect((await ours.stats('stop'))[0]).toMatchObject({ pending: 0, inFlight: 0 });
}
