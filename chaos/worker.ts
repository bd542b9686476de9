/**
 * A worker process of the chaos run (compiled, started by the fleet; argv[2] is a WorkerConfig as JSON).
 * Logs every callback's start and completion; SIGTERM releases the consumer
 * (running callbacks finish and settle) and exits. A consume() that the storage
 * rejects (a server restart while it registers) is logged and ends the process.
 */
import { BrokerQueueMessage, QueueStorageError } from '../src';
import { chaosChannel, ChaosJob, createChaosQueue } from './chaos-queue';
import { exitWithParent } from './exit-with-parent';
import { consumeRejectedExitCode, WorkerConfig } from './process-config';
import { seededRandom } from './random';
import { AppendLog } from './records';

exitWithParent();
const config: WorkerConfig = JSON.parse(process.argv[2]);
const log = new AppendLog(config.log);
log.write('W', config.incarnation, process.pid, Date.now());
const queue = createChaosQueue(config.backend);
const channel = chaosChannel(queue, config.channel);
const random = seededRandom(config.seed);

/** A third return at once, a third after a turn of the event loop, a third after up to workMax ms: messages are in flight when the kill comes. */
function work(): Promise<void> | void {
    const r = random();
    if (r < 1 / 3) return;
    if (r < 2 / 3) return new Promise(resolve => setImmediate(resolve));
    return new Promise(resolve => setTimeout(resolve, Math.ceil(random() * config.workMax)));
}

function callback(job: ChaosJob, message: BrokerQueueMessage<ChaosJob>): Promise<void> | void {
    const id = `${job.producer}:${job.seq}`;
    log.write('S', id, message.id, message.attempt, Date.now());
    const done = () => log.write('C', id, Date.now());
    const pending = work();
    if (!pending) return done();
    return pending.then(done);
}

const consuming = channel.consume(callback, { maxParallel: config.maxParallel });
// Registered at once: the stop at the end of a run may come while this process still starts.
process.once('SIGTERM', () => void (async () => {
    const release = await consuming;
    await release();
    await queue.close();
    log.write('X', Date.now());
    process.exit(0);
})());
consuming.then(() => process.stdout.write('ready\n'), error => {
    console.error(Date.now(), 'fatal', error);
    if (error instanceof QueueStorageError) log.write('F', Date.now(), error.code ?? error.name);
    process.exit(error instanceof QueueStorageError ? consumeRejectedExitCode : 1);
});
