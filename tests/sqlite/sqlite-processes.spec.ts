/**
 * Real processes sharing one SQLite file, and real kill -9.
 */
import { BrokerQueue, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { expectPoisonFailsAlone } from '../support/poison';
import { tempDir } from '../support/temp';
import { deferred, waitFor } from '../support/wait';

type Job = { n: number, label: string };

const worker = 'tests/fixtures/sqlite-worker.ts';
const producer = 'tests/fixtures/sqlite-producer.ts';

describe('sqlite: several processes on one file', () => {
    let dir: ReturnType<typeof tempDir>;
    let path: string;
    let queue: BrokerQueue;
    const children: Child[] = [];

    function start(script: string, args: string[], env: Record<string, string> = {}): Child {
        const child = new Child(script, args, env);
        children.push(child);
        return child;
    }

    beforeEach(async () => {
        dir = tempDir();
        path = dir.file('queue.sqlite');
        queue = new BrokerQueue(new SqliteQueueAdapter({ path }), { logger: new MemoryLogger(), pollInterval: 100 });
        await queue.connect();
    });

    afterEach(async () => {
        for (const child of children.splice(0)) {
            child.kill();
            await child.exited;
        }
        await queue.close();
        dir.remove();
    });

    test('kill -9 of a worker inside its callback: another worker gets the message within 2 s', async () => {
        const doomed = start(worker, [path, 'hang']);
        await doomed.waitForLine('ready');
        const { id } = await queue.channel<Job>('jobs').produce({ n: 1, label: 'survives' });
        await doomed.waitForLine(`got ${id} 1`);

        const rescuer = start(worker, [path, 'ack']);
        await rescuer.waitForLine('ready');
        const killedAt = Date.now();
        doomed.kill('SIGKILL');
        const line = await rescuer.waitForLine(`got ${id} `);
        const redeliveredIn = Date.now() - killedAt;
        // Attempt 1 again: its start was not recorded, so nobody knows it ran (see storage.ts, Attempts).
        expect(line).toBe(`got ${id} 1 {"n":1,"label":"survives"}`);
        expect(redeliveredIn).toBeLessThan(2000);
    });

    test('a message that kills its worker on every start fails after maxAttempts starts; the neighbours claimed with it do not use an attempt', async () => {
        await expectPoisonFailsAlone(queue, () => start(worker, [path, 'poison'], { RECLAIM_INTERVAL: '200ms' }));
    }, 150_000);

    test('kill -9 of a producer right after produce() resolved: every resolved message is delivered', async () => {
        const child = start(producer, [path, '100000']);
        await child.waitForLine('ready');
        child.kill('SIGUSR2');
        await child.waitForLine(line => line.startsWith('produced ') && Number(line.split(' ')[1]) >= 300);
        child.kill('SIGKILL');
        await child.exited;
        const resolved = child.lines.filter(v => v.startsWith('produced ')).map(v => v.split(' ')[1]);
        expect(resolved.length).toBeGreaterThanOrEqual(300);

        const delivered = new Set<string>();
        const stats = (await queue.stats('jobs'))[0];
        const all = deferred();
        const release = await queue.channel<Job>('jobs').consume((job, message) => {
            delivered.add(message.id);
            if (delivered.size === stats.pending) all.resolve();
        }, { maxParallel: 16 });
        await all.promise;
        await release();
        expect(resolved.filter(id => !delivered.has(id))).toEqual([]);
    });

    test('two processes racing the same exactlyOnce hashes enqueue each once', async () => {
        // Both connect first, then start on one signal: the runs overlap, so the hashes really race.
        const racers = [start(producer, [path, '300', 'same-']), start(producer, [path, '300', 'same-'])];
        await Promise.all(racers.map(v => v.waitForLine('ready')));
        for (const racer of racers) racer.kill('SIGUSR2');
        await Promise.all(racers.map(v => v.waitForLine('finished')));
        const time = (racer: Child, word: string) => Number(racer.lines.find(line => line.startsWith(word + ' '))!.split(' ')[1]);
        const [a, b] = racers;
        // Each started before the other finished.
        expect(time(a, 'go')).toBeLessThan(time(b, 'finished'));
        expect(time(b, 'go')).toBeLessThan(time(a, 'finished'));

        const outcomes = racers.flatMap(v => v.lines).filter(v => v.startsWith('produced '));
        expect(outcomes).toHaveLength(600);
        expect(outcomes.filter(v => v.endsWith(' false'))).toHaveLength(300);
        // Both processes got the same id for each hash.
        const [idsA, idsB] = racers.map(v => v.lines.filter(line => line.startsWith('produced ')).map(line => line.split(' ')[1]));
        expect(idsA).toHaveLength(300);
        expect(idsA).toEqual(idsB);
        expect((await queue.stats('jobs'))[0].pending).toBe(300);
    });

    test('an idle worker in another process wakes on a new message without polling', async () => {
        // With an hour between polls, only the wake-up can deliver the message.
        const idle = start(worker, [path, 'ack'], { POLL_INTERVAL: '1h' });
        await idle.waitForLine('ready');
        for (let n = 0; n < 5; n++) {
            const { id } = await queue.channel<Job>('jobs').produce({ n, label: 'wake' });
            await idle.waitForLine(`got ${id} 1`, 5000);
        }
    });

    test('several workers share the load and each message is processed once', async () => {
        const workers = [start(worker, [path, 'ack', '4']), start(worker, [path, 'ack', '4'])];
        await Promise.all(workers.map(v => v.waitForLine('ready')));
        const ids = (await queue.channel<Job>('jobs').produceMany(Array.from({ length: 400 }, (_, n) => ({ n, label: 'x' })))).map(v => v.id);
        await waitFor(() => workers.flatMap(v => v.lines).filter(v => v.startsWith('got ')).length >= 400, 'all messages consumed');
        await waitFor(async () => (await queue.stats('jobs'))[0].doneLastHour === 400, 'all acks committed');
        const got = workers.flatMap(v => v.lines).filter(v => v.startsWith('got ')).map(v => v.split(' ')[1]);
        expect(got.sort()).toEqual([...ids].sort());
    });
});
