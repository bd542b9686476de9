/**
 * Real processes sharing one PostgreSQL schema, and real kill -9.
 */
import { BrokerQueue, PostgresQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { expectPoisonFailsAlone } from '../support/poison';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';
import { deferred } from '../support/wait';

type Job = { n: number, label: string };

const worker = 'tests/fixtures/postgres-worker.ts';
const producer = 'tests/fixtures/postgres-producer.ts';

describePostgres('postgres: several processes on one database', () => {
    let schema: string;
    let queue: BrokerQueue;
    const children: Child[] = [];

    function start(script: string, args: string[], env: Record<string, string> = {}): Child {
        const child = new Child(script, [postgresUrl, schema, ...args], env);
        children.push(child);
        return child;
    }

    beforeEach(async () => {
        schema = testSchema();
        queue = new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }), { logger: new MemoryLogger(), pollInterval: 100 });
        // Migrated before the children start, so their start-up is what a deployed host sees.
        await queue.connect();
    });

    afterEach(async () => {
        for (const child of children.splice(0)) {
            child.kill();
            await child.exited;
        }
        await queue.close();
        await dropSchema(schema);
    });

    test('kill -9 of a worker inside its callback: another worker gets the message within 2 s', async () => {
        // The rescuer starts only once the doomed worker has the message: an ack-mode worker that took it
        // first would complete it, and there would be nothing to redeliver.
        const doomed = start(worker, ['hang']);
        await doomed.waitForLine('ready');
        const { id } = await queue.channel<Job>('jobs').produce({ n: 1, label: 'survives' });
        await doomed.waitForLine(`got ${id} 1`);
        const rescuer = start(worker, ['ack']);
        await rescuer.waitForLine('ready');

        const killedAt = Date.now();
        doomed.kill('SIGKILL');
        const line = await rescuer.waitForLine(`got ${id} `);
        const redeliveredIn = Date.now() - killedAt;
        // Attempt 1 again: its start was not recorded, so nobody knows it ran (see storage.ts, Attempts).
        expect(line).toBe(`got ${id} 1 {"n":1,"label":"survives"}`);
        expect(redeliveredIn).toBeLessThan(2000);
    });

    test('a message that ends its worker on every start fails after maxAttempts starts; the neighbours claimed with it do not use an attempt', async () => {
        await expectPoisonFailsAlone(queue, () => start(worker, ['poison']));
    }, 150_000);

    test('kill -9 of a producer right after produce() resolved: every resolved message is delivered', async () => {
        const child = start(producer, ['100000']);
        await child.waitForLine('ready');
        child.kill('SIGUSR2');
        await child.waitForLine(line => line.startsWith('produced ') && Number(line.split(' ')[1]) >= 300);
        child.kill('SIGKILL');
        await child.exited;
        const resolved = child.lines.filter(v => v.startsWith('produced ')).map(v => v.split(' ')[1]);
        expect(resolved.length).toBeGreaterThanOrEqual(300);

        const delivered = new Set<string>();
        const stats = (await queue.stats('jobs'))[0];
        expect(stats.pending).toBeGreaterThanOrEqual(resolved.length);
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
        const racers = [start(producer, ['300', 'same-']), start(producer, ['300', 'same-'])];
        await Promise.all(racers.map(v => v.waitForLine('ready')));
        for (const racer of racers) racer.kill('SIGUSR2');
        await Promise.all(racers.map(v => v.waitForLine('finished')));
        const outcomes = racers.flatMap(v => v.lines).filter(v => v.startsWith('produced '));
        expect(outcomes).toHaveLength(600);
        expect(outcomes.filter(v => v.endsWith(' false'))).toHaveLength(300);
        // Both processes got the same id for each hash.
        const [a, b] = racers.map(v => v.lines.filter(line => line.startsWith('produced ')).map(line => line.split(' ')[1]));
        expect(a).toEqual(b);
        expect((await queue.stats('jobs'))[0].pending).toBe(300);
    });

    test('an idle worker in another process wakes on a new message through NOTIFY, without polling', async () => {
        // With an hour between polls, only the wake-up can deliver the message.
        const idle = start(worker, ['ack'], { POLL_INTERVAL: '1h' });
        await idle.waitForLine('ready');
        for (let n = 0; n < 5; n++) {
            const { id } = await queue.channel<Job>('jobs').produce({ n, label: 'wake' });
            await idle.waitForLine(`got ${id} 1`, 5000);
        }
    });
});
