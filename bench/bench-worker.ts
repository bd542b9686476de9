/**
 * A worker process for the benchmarks. Args: <db path> <synchronous> <mode> <count> <maxParallel>.
 * mode `drain`: consume <count> messages, print `drained <ms>` (first claim to last commit).
 * mode `latency`: print `ready`, then for each message `latency <ms>` (sent stamp in the payload to callback start).
 */
import { performance } from 'perf_hooks';
import { BrokerQueue, SqliteQueueAdapter } from '../src';
import { BenchMessage } from './bench-types';

const [path, synchronous, mode, count, maxParallel] = process.argv.slice(2);
const queue = new BrokerQueue(new SqliteQueueAdapter({ path, synchronous: synchronous as 'full' | 'normal' }));
const channel = queue.channel<BenchMessage>('bench');
const total = Number(count);

void (async () => {
    await queue.connect();
    let seen = 0;
    let started = 0;
    const finished = new Promise<void>(resolve => {
        void channel.consume(message => {
            if (!started) started = performance.now();
            if (mode === 'latency') console.log(`latency ${(performance.timeOrigin + performance.now() - message.sentAt).toFixed(3)}`);
            if (++seen === total) resolve();
        }, { maxParallel: Number(maxParallel) });
    });
    if (mode === 'latency') console.log('ready');
    await finished;
    await queue.stopConsumers();
    if (mode === 'drain') console.log(`drained ${(performance.now() - started).toFixed(1)}`);
    await queue.close();
})();
