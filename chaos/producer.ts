/**
 * A producer process of the chaos run (compiled, started by the fleet; argv[2] is a ProducerConfig as JSON).
 * Paced so that its slot's messages spread over the run; every produce() is
 * written to the ledger before it is called (S) and after it settles (R or E).
 */
import { QueueStorageError } from '../src';
import { chaosChannel, createChaosQueue } from './chaos-queue';
import { exitWithParent } from './exit-with-parent';
import { ProducerConfig } from './process-config';
import { AppendLog } from './records';

exitWithParent();
const config: ProducerConfig = JSON.parse(process.argv[2]);
const ledger = new AppendLog(config.ledger);
ledger.write('P', config.incarnation, process.pid, Date.now());
const queue = createChaosQueue(config.backend);
const channel = chaosChannel(queue, config.channel);

let nextIndex = config.first;
let nextSeq = 0;

const pause = (ms: number) => new Promise(resolve => setTimeout(resolve, ms));

async function lane(): Promise<void> {
    for (let index = nextIndex++; index < config.total; index = nextIndex++) {
        // Pacing, not synchronisation: the burst of message `index` is due at its share of the duration.
        const due = config.startedAt + config.duration * (index - index % config.burst) / config.total - Date.now();
        if (due > 0) await pause(due);
        for (;;) {
            const seq = nextSeq++;
            ledger.write('S', seq, Date.now());
            try {
                const result = await channel.produce({ producer: config.incarnation, seq });
                ledger.write('R', seq, result.id, Date.now());
                break;
            } catch (error) {
                // Only storage errors are expected (a PostgreSQL restart); anything else ends the process, and the run reports it.
                if (!(error instanceof QueueStorageError)) throw error;
                ledger.write('E', seq, Date.now(), error.name);
                await pause(50);
            }
        }
    }
}

async function connect(): Promise<void> {
    // Started during a server restart, connect() fails as produce() does (a QueueStorageError that says the
    // adapter reconnects on the next call): try again, as the lanes do.
    for (;;) {
        try {
            return await queue.connect();
        } catch (error) {
            if (!(error instanceof QueueStorageError)) throw error;
            console.error(Date.now(), 'connect failed, trying again:', error.message);
            await pause(50);
        }
    }
}

void (async () => {
    await connect();
    process.stdout.write('ready\n');
    await Promise.all(Array.from({ length: config.concurrency }, lane));
    ledger.write('X', Date.now());
    await queue.close();
    process.exit(0);
})().catch(error => {
    console.error(Date.now(), 'fatal', error);
    process.exit(1);
});
