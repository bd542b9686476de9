import { BrokerQueue } from '../../src';
import { Child } from './child';
import { waitFor } from './wait';

type Job = { n: number, label: string };

/**
 * Shared by the SQLite and PostgreSQL process tests: one message among 1,000 kills its worker process
 * whenever its callback starts (`startWorker` runs the worker fixture in `poison` mode); each dead worker is
 * replaced. With maxAttempts 2 it must end failed after exactly 2 starts, and every neighbour, many of them
 * claimed in the same batch as the poison and never started there, must end done without using an attempt.
 */
export async function expectPoisonFailsAlone(queue: BrokerQueue, startWorker: () => Child): Promise<void> {
    const total = 1000;
    // Far enough in that the adaptive prefetch claims it in a large batch, with hundreds after it.
    const poisonAt = 200;
    const channel = queue.channel<Job>('jobs', { maxAttempts: 2 });
    const ids = (await channel.produceMany(Array.from({ length: total }, (_, n) => ({ n, label: n === poisonAt ? 'poison' : 'ok' })))).map(v => v.id);
    const poison = ids[poisonAt];

    // Polled: no event says that another process settled the last message.
    const settled = waitFor(async () => {
        const [stats] = await queue.stats('jobs');
        return stats.pending + stats.delayed + stats.inFlight === 0 && stats;
    }, 'every message to be settled', 110_000, 50);
    settled.catch(() => undefined);
    const workers: Child[] = [];
    for (;;) {
        const worker = startWorker();
        workers.push(worker);
        const outcome = await Promise.race([worker.exited.then(() => 'died' as const), settled.then(() => 'settled' as const)]);
        if (outcome === 'settled') break;
        if (workers.length > 4) throw new Error(`The poison message killed ${workers.length} workers`);
    }
    const stats = await settled;
    // A line is in `lines` once the parent has read it from the pipe: a message settled by the live worker may
    // have its line still there. Once every worker's output has ended, every line is in.
    for (const worker of workers) worker.kill();
    await Promise.all(workers.map(v => v.closed));

    const starts = workers.flatMap(v => v.lines).filter(line => line.startsWith('got '));
    const poisonStarts = starts.filter(v => v.startsWith(`got ${poison} `));
    const neighbourStarts = starts.filter(v => !v.startsWith(`got ${poison} `));
    expect(poisonStarts).toHaveLength(2);
    expect(workers.length).toBe(3);
    const failed = await queue.listFailed('jobs');
    expect(failed.map(v => ({ id: v.id, attempt: v.attempt }))).toEqual([{ id: poison, attempt: 2 }]);
    expect(failed[0].error).toMatch(/worker process \d+ .*died/);
    expect(stats).toMatchObject({ failed: 1, doneLastHour: total - 1 });
    // Every neighbour ran, and each of its starts was its first attempt (some run twice: done, but not yet committed, when the worker died).
    expect(new Set(neighbourStarts.map(v => v.split(' ')[1])).size).toBe(total - 1);
    expect(neighbourStarts.filter(v => v.split(' ')[2] !== '1')).toEqual([]);
}
