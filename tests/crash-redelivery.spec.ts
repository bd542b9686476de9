/**
 * What a kill -9 redelivers: only messages whose callbacks ran or were running
 * and whose settlements had not committed, at most `maxParallel + maxUnsettled`
 * (README, "What a crash redelivers"). Real worker processes, real kill -9.
 */
import { readFileSync } from 'fs';
import { BrokerQueue, PostgresQueueAdapter, SqliteQueueAdapter } from '../src';
import { Child } from './support/child';
import { MemoryLogger } from './support/logger';
import { describePostgres, dropSchema, postgresUrl, testSchema } from './support/postgres';
import { tempDir } from './support/temp';
import { deferred } from './support/wait';

type Job = { n: number };

const worker = 'tests/fixtures/redelivery-worker.ts';
const maxParallel = 8;
/** The documented bound per kill: the running callbacks plus the consumer's uncommitted settlements. */
const bound = maxParallel + Math.max(maxParallel, 128);
const backlog = 30_000;
const kills = 3;
const runBeforeKill = 2_000;

/**
 * Drains a backlog with worker processes killed with kill -9 mid-drain, `kills` times, then drains the rest
 * in this process; returns, per kill, how many messages whose callback ran in the killed worker ran again.
 */
async function duplicatesPerKill(queue: BrokerQueue, workerArgs: [string, string, string], dir: ReturnType<typeof tempDir>): Promise<number[]> {
    const channel = queue.channel<Job>('jobs');
    await channel.produceMany(Array.from({ length: backlog }, (_, n) => ({ n })));
    const ranBy: string[][] = [];
    for (let k = 0; k < kills; k++) {
        const file = dir.file(`ran-${k}.txt`);
        const child = new Child(worker, [...workerArgs, file, String(maxParallel), String(runBeforeKill)]);
        try {
            await child.waitForLine('ran ', 60_000);
            child.kill('SIGKILL');
        } finally {
            child.kill();
            await child.exited;
        }
        ranBy.push(readFileSync(file, 'utf8').split('\n').filter(Boolean));
    }

    const rest: string[] = [];
    const seen = new Set(ranBy.flat());
    const all = deferred();
    const release = await channel.consume((_job, message) => {
        rest.push(message.id);
        seen.add(message.id);
        if (seen.size === backlog) all.resolve();
    }, { maxParallel });
    await all.promise;
    await release();

    return ranBy.map((ids, k) => {
        const later = new Set([...ranBy.slice(k + 1).flat(), ...rest]);
        expect(new Set(ids).size).toBe(ids.length);
        return ids.filter(id => later.has(id)).length;
    });
}

describe('sqlite: messages redelivered by a kill -9', () => {
    let dir: ReturnType<typeof tempDir>;
    let queue: BrokerQueue;

    beforeEach(async () => {
        dir = tempDir();
        // Reclaims a dead worker's messages quickly: the last drain waits for them.
        queue = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger(), pollInterval: 100, reclaimInterval: 100 });
        await queue.connect();
    });

    afterEach(async () => {
        await queue.close();
        dir.remove();
    });

    test(`at most maxParallel + maxUnsettled (${bound}) messages per kill at maxParallel ${maxParallel}`, async () => {
        const duplicates = await duplicatesPerKill(queue, ['sqlite', dir.file('queue.sqlite'), '-'], dir);
        console.log(`sqlite: duplicates per kill ${duplicates.join(', ')}`);
        for (const count of duplicates) expect(count).toBeLessThanOrEqual(bound);
    }, 180_000);
});

describePostgres('postgres: messages redelivered by a kill -9', () => {
    let dir: ReturnType<typeof tempDir>;
    let schema: string;
    let queue: BrokerQueue;

    beforeEach(async () => {
        dir = tempDir();
        schema = testSchema();
        queue = new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }), { logger: new MemoryLogger(), pollInterval: 100, reclaimInterval: 100 });
        await queue.connect();
    });

    afterEach(async () => {
        await queue.close();
        await dropSchema(schema);
        dir.remove();
    });

    test(`at most maxParallel + maxUnsettled (${bound}) messages per kill at maxParallel ${maxParallel}`, async () => {
        const duplicates = await duplicatesPerKill(queue, ['postgres', postgresUrl, schema], dir);
        console.log(`postgres: duplicates per kill ${duplicates.join(', ')}`);
        for (const count of duplicates) expect(count).toBeLessThanOrEqual(bound);
    }, 180_000);
});
