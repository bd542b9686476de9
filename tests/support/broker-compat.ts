import { BrokerQueue as DeepkitBrokerQueue } from '@deepkit/broker';
import { BrokerQueue, QueueStorageAdapter } from '../../src';
import { deferred } from './wait';

/**
 * Shared by every adapter's compatibility tests: `adapter.disconnect()` waits for a
 * callback started through the stock `@deepkit/broker` class (it does not resolve
 * while the callback runs), then leaves nothing pending or leased (`ours` reads the
 * same storage).
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
    let disconnectedEarly = false;
    const disconnected = adapter.disconnect().then(() => { disconnectedEarly = !finished; });
    // The callback finishes only in a later turn: a disconnect() that did not wait for it has had
    // the time to resolve by then (closing the storage takes a few round trips at most).
    await Promise.race([disconnected, new Promise(resolve => setTimeout(resolve, 300))]);
    expect(disconnectedEarly).toBe(false);
    expect(finished).toBe(false);
    finish.resolve();
    await disconnected;
    expect(disconnectedEarly).toBe(false);
    expect(finished).toBe(true);
    expect((await ours.stats('stop'))[0]).toMatchObject({ pending: 0, inFlight: 0 });
}
