/**
 * The message limits part of the storage conformance suite, run by every adapter's
 * conformance spec with the same factory: `maxMessageSize` on produce, produceMany and
 * schedule; the claim's `maxBytes`; a consumer's `prefetchBytes` measured from storage.
 */
import { typeOf } from '@deepkit/type';
import { BrokerQueue, BrokerQueueOptions, QueueMessageTooLargeError, QueueStorage } from '../src';
import { MessageCodec } from '../src/codec';
import { MemoryLogger } from './support/logger';
import { waitFor } from './support/wait';
import type { StorageFixture } from './storage-suite';

const kb = 1024;
/** A string message that serializes to a little more than `bytes`. */
const text = (bytes: number, fill = 'x') => fill.repeat(bytes);

export function limitsConformanceSuite(name: string, factory: () => Promise<StorageFixture>): void {
    describe(`limits conformance: ${name}`, () => {
        let fixture: StorageFixture;
        let storage: QueueStorage;
        let logger: MemoryLogger;
        const queues: BrokerQueue[] = [];

        function makeQueue(options: BrokerQueueOptions = {}): BrokerQueue {
            const queue = new BrokerQueue(storage, { logger, pollInterval: 50, reclaimInterval: 100, ...options });
            queues.push(queue);
            return queue;
        }

        beforeEach(async () => {
            fixture = await factory();
            storage = fixture.storage;
            logger = new MemoryLogger();
            await makeQueue().connect();
        });

        afterEach(async () => {
            for (const queue of queues.splice(0)) await queue.stopConsumers();
            await storage.disconnect();
            await fixture.cleanup?.();
        });

        const pending = async (queue: BrokerQueue, channel: string) => (await queue.stats(channel))[0]?.pending ?? 0;

        test('claim with maxBytes stops before the first message that would exceed it, and always takes the first', async () => {
            const sizes = [100, 100, 100, 50];
            await storage.enqueue(sizes.map(size => ({ channel: 'n', payload: new Uint8Array(size), delay: 0, priority: 0, maxAttempts: 3 })));
            await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
            // 100 + 100 fit 250; the third would make 300: the claim stops there, it does not skip to the 50.
            expect((await storage.claim('n', 'a', 10, 60_000, 250)).map(v => v.payload.byteLength)).toEqual([100, 100]);
            // The first message is taken even when it alone is larger than the budget.
            expect((await storage.claim('n', 'a', 10, 60_000, 10)).map(v => v.payload.byteLength)).toEqual([100]);
            // Exactly at the budget fits; without maxBytes sizes do not matter.
            await storage.enqueue([{ channel: 'n', payload: new Uint8Array(30), delay: 0, priority: 0, maxAttempts: 3 }]);
            expect((await storage.claim('n', 'a', 10, 60_000, 80)).map(v => v.payload.byteLength)).toEqual([50, 30]);
            await storage.enqueue([1, 2].map(() => ({ channel: 'n', payload: new Uint8Array(1000), delay: 0, priority: 0, maxAttempts: 3 })));
            expect(await storage.claim('n', 'a', 10, 60_000)).toHaveLength(2);
        });

        test('produce of a message over maxMessageSize rejects with QueueMessageTooLargeError and stores nothing', async () => {
            const queue = makeQueue();
            const channel = queue.channel<string>('big', { maxMessageSize: '8kb' });
            const error = await channel.produce(text(10 * kb)).catch(e => e);
            expect(error).toBeInstanceOf(QueueMessageTooLargeError);
            expect(error).toMatchObject({ channel: 'big', limit: 8 * kb });
            expect(error.size).toBeGreaterThan(10 * kb);
            expect(error.message).toContain(`${error.size} bytes`);
            expect(error.message).toContain(`${8 * kb} bytes of option 'maxMessageSize'`);
            // Just below the limit, serialized, is accepted.
            await channel.produce(text(8 * kb - 100));
            expect(await pending(queue, 'big')).toBe(1);
        });

        test('produceMany with one message over the limit fails as a whole and stores none of it', async () => {
            const queue = makeQueue({ channelDefaults: { maxMessageSize: 4 * kb } });
            const channel = queue.channel<string>('big');
            const error = await channel.produceMany(['a', 'b', text(5 * kb), 'c']).catch(e => e);
            expect(error).toBeInstanceOf(QueueMessageTooLargeError);
            expect(await pending(queue, 'big')).toBe(0);
            expect(await channel.produceMany(['a', 'b'])).toHaveLength(2);
        });

        test('a schedule whose payload is over the limit is refused and not stored', async () => {
            const queue = makeQueue();
            const channel = queue.channel<string>('reports', { maxMessageSize: '1kb' });
            await expect(channel.schedule('daily', { every: '1h' }, text(2 * kb))).rejects.toThrow(QueueMessageTooLargeError);
            expect(await queue.schedules('reports')).toEqual([]);
        });

        /** The storage with settlements that take `ms` longer: finished messages stay leased meanwhile. */
        function slowSettling(ms: number): QueueStorage {
            return new Proxy(storage, {
                get(target, property) {
                    if (property === 'settle') return async (...args: Parameters<QueueStorage['settle']>) => {
                        await new Promise(resolve => setTimeout(resolve, ms));
                        return target.settle(...args);
                    };
                    const value = (target as any)[property];
                    return typeof value === 'function' ? value.bind(target) : value;
                },
            });
        }

        test('a consumer with a small prefetchBytes never holds more than that many payload bytes (leases in storage)', async () => {
            // Slow settlements: a finished message stays leased until its settlement commits, and counts until then.
            const queue = new BrokerQueue(slowSettling(20), { logger, pollInterval: 50, reclaimInterval: 100 });
            queues.push(queue);
            const channel = queue.channel<string>('big', { maxMessageSize: '16kb' });
            const count = 24;
            await channel.produceMany(Array.from({ length: count }, (_, i) => text(10 * kb, String.fromCharCode(97 + i % 26))));
            const size = new MessageCodec<string>('big', typeOf<string>()).encode(text(10 * kb)).byteLength;
            const budget = 40 * kb;
            let maxLeased = 0;
            let delivered = 0;
            const sample = async () => {
                const consumers = await storage.listConsumers();
                for (const consumer of consumers) maxLeased = Math.max(maxLeased, consumer.inFlight * size);
            };
            // A fixed, large prefetch: only the byte budget keeps the consumer from leasing all of them.
            await channel.consume(async () => {
                await sample();
                await new Promise(resolve => setTimeout(resolve, 5));
                delivered++;
            }, { maxParallel: 2, prefetch: 256, prefetchBytes: budget });
            await waitFor(() => delivered === count, 'every message delivered', 30_000);
            expect(maxLeased).toBeGreaterThan(0);
            expect(maxLeased).toBeLessThanOrEqual(budget);
            // More than one message fit the budget at a time: the budget bounds, it does not serialize.
            expect(maxLeased).toBeGreaterThan(size);
        });

        test('a message larger than the budget (stored under a higher limit) is still delivered, alone', async () => {
            const producer = makeQueue().channel<string>('big', { maxMessageSize: '64kb' });
            await producer.produceMany([text(50 * kb), 'small']);
            const consumer = makeQueue().channel<string>('big', { maxMessageSize: '16kb' });
            const received: number[] = [];
            await consumer.consume(data => void received.push(data.length), { prefetchBytes: '20kb' });
            await waitFor(() => received.length === 2, 'both messages delivered');
            expect(received).toEqual([50 * kb, 5]);
        });
    });
}
