/**
 * The consumer's observed path (QueueInstrumentation.process) with main's runs: a timeout, a recorded start.
 */
import { BrokerQueue, QueueMessageAbortedError, SqliteQueueAdapter } from '../../src';
import { QueueInstrumentation } from '../../src/instrumentation';
import { ClaimedMessage, Settlement } from '../../src/storage';
import { MemoryLogger } from '../support/logger';
import { waitFor } from '../support/wait';

/** Marks every claimed message as one whose start must be recorded, and keeps the settlement kinds. */
class RecordStartAdapter extends SqliteQueueAdapter {
    kinds: Settlement['kind'][] = [];

    override async claim(channel: string, consumerId: string, limit: number, lease: number): Promise<ClaimedMessage[]> {
        return (await super.claim(channel, consumerId, limit, lease)).map(v => ({ ...v, recordStart: true }));
    }

    override async settle(settlements: Settlement[]) {
        this.kinds.push(...settlements.map(v => v.kind));
        return super.settle(settlements);
    }
}

function recorder() {
    const ends: { id: string, outcome: Settlement['kind'], error?: unknown }[] = [];
    let inside = false;
    const instrumentation: QueueInstrumentation = {
        process: message => ({
            run: callback => {
                inside = true;
                try {
                    return callback();
                } finally {
                    inside = false;
                }
            },
            end: (outcome, _ms, error) => ends.push({ id: message.id, outcome, error }),
        }),
    };
    return { ends, instrumentation, inside: () => inside };
}

describe('observed runs', () => {
    test('a timed-out callback ends its observation once, as a failed attempt with the abort error', async () => {
        const { ends, instrumentation } = recorder();
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path: ':memory:' }), { logger: new MemoryLogger(), instrumentation });
        try {
            const channel = queue.channel<number>('slow', { maxAttempts: 1, timeout: '50ms' });
            await channel.produce(1);
            let late!: () => void;
            const release = await channel.consume(() => new Promise<void>(resolve => late = resolve));
            await waitFor(() => ends.length === 1, 'the timed-out observation');
            expect(ends[0].outcome).toBe('fail');
            expect(ends[0].error).toBeInstanceOf(QueueMessageAbortedError);
            late();
            await new Promise(resolve => setTimeout(resolve, 20));
            expect(ends).toHaveLength(1);
            await release();
        } finally {
            await queue.close();
        }
    });

    test('a message whose start is recorded runs observed, in the context, after its start record', async () => {
        const { ends, instrumentation, inside } = recorder();
        const adapter = new RecordStartAdapter({ path: ':memory:' });
        const queue = new BrokerQueue(adapter, { logger: new MemoryLogger(), instrumentation });
        try {
            const channel = queue.channel<number>('alone');
            await channel.produceMany([1, 2]);
            const seen: boolean[] = [];
            const release = await channel.consume(() => {
                seen.push(inside());
            });
            await waitFor(() => ends.length === 2, 'both observations');
            expect(seen).toEqual([true, true]);
            expect(ends.map(v => v.outcome)).toEqual(['done', 'done']);
            await release();
            // Each start was recorded (and counted nothing) before its callback ran.
            expect(adapter.kinds.filter(v => v === 'start')).toHaveLength(2);
            expect(adapter.kinds.indexOf('start')).toBeLessThan(adapter.kinds.indexOf('done'));
            expect((await queue.stats('alone'))[0]).toMatchObject({ pending: 0, inFlight: 0, failed: 0 });
        } finally {
            await queue.close();
        }
    });

    test('a callback abandoned at the shutdown timeout ends its observation as a release; its late result changes nothing', async () => {
        const { ends, instrumentation } = recorder();
        const queue = new BrokerQueue(new SqliteQueueAdapter({ path: ':memory:' }), { logger: new MemoryLogger(), instrumentation });
        try {
            const channel = queue.channel<number>('stuck');
            await channel.produce(1);
            let late!: () => void;
            let started = false;
            await channel.consume(() => new Promise<void>(resolve => { started = true; late = resolve; }));
            await waitFor(() => started, 'the callback');
            expect(await queue.stopConsumers('50ms')).toBe(false);
            expect(ends).toHaveLength(1);
            expect(ends[0].outcome).toBe('release');
            expect(ends[0].error).toBeInstanceOf(QueueMessageAbortedError);
            late();
            await new Promise(resolve => setTimeout(resolve, 20));
            expect(ends).toHaveLength(1);
            expect((await queue.stats('stuck'))[0]).toMatchObject({ pending: 1, inFlight: 0 });
        } finally {
            await queue.close();
        }
    });
});
