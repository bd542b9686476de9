import { createServer } from 'net';
import { join } from 'path';
import { BrokerQueue, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';

const examples = join(__dirname, '..', '..', 'examples');
// A child needs seconds to start (ts-node, @deepkit/framework), more on a busy machine.
const startup = 60_000;
type User = { id: number, username: string };

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
            const port = (server.address() as { port: number }).port;
            server.close(() => resolve(port));
        }).on('error', reject);
    });
}

/** The docs' example apps as real processes, with real signals, on one SQLite file. */
describe('the docs\' example apps', () => {
    let dir: ReturnType<typeof tempDir>;
    let inspector: BrokerQueue;
    let children: Child[];
    let env: Record<string, string>;

    beforeEach(() => {
        dir = tempDir();
        children = [];
        env = { APP_BROKER_QUEUE_SQLITE_PATH: dir.file('queue.sqlite') };
        inspector = new BrokerQueue(new SqliteQueueAdapter({ path: env.APP_BROKER_QUEUE_SQLITE_PATH }), { logger: new MemoryLogger() });
    });

    afterEach(async () => {
        for (const child of children) child.kill('SIGKILL');
        await inspector.close();
        dir.remove();
    });

    // cwd in the temp dir: FrameworkModule creates ./var/debug in the working directory.
    // NODE_PATH lets `-r ts-node/register/transpile-only` resolve from there.
    function start(file: string, args: string[] = [], extra: Record<string, string> = {}): Child {
        const child = new Child(join(examples, file), args, { ...env, NODE_PATH: join(__dirname, '..', '..', 'node_modules'), ...extra }, dir.path);
        children.push(child);
        return child;
    }

    async function stats(channel = 'user/registered') {
        return (await inspector.stats(channel))[0];
    }

    test('app.ts registers users over HTTP; two worker.ts processes consume each exactly once; SIGTERM ends all with code 0', async () => {
        const port = await freePort();
        const workers = [start('worker.ts', [], { WORKER_NAME: 'w1', EXAMPLE_DB_LATENCY_MS: '20' }), start('worker.ts', [], { WORKER_NAME: 'w2', EXAMPLE_DB_LATENCY_MS: '20' })];
        const app = start('app.ts', ['server:start'], { APP_FRAMEWORK_PORT: String(port) });
        await Promise.all([...workers.map(v => v.waitForLine("is consuming 'user/registered'", startup)), app.waitForLine('Server started', startup)]);

        const count = 20;
        const register = (body: object) => fetch(`http://127.0.0.1:${port}/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
        for (let id = 1; id <= count; id++) {
            const response = await register({ id, username: 'user' + id });
            expect(response.status).toBe(200);
            expect(await response.json()).toEqual({ registered: id, deduplicated: false });
        }
        // exactlyOnce with deduplicationInterval '1s': the last user again, at once, is not enqueued twice.
        const duplicate = await register({ id: count, username: 'user' + count });
        expect(duplicate.status).toBe(200);
        expect(await duplicate.json()).toEqual({ registered: count, deduplicated: true });
        const invalid = await register({ id: 'x' });
        expect(invalid.status).toBe(400);

        // Every user consumed (each worker prints a line per user), then all stopped: nothing runs any more.
        const consumedLines = () => workers.flatMap(worker => worker.lines.filter(v => v.startsWith('User registered:')));
        await Promise.all(Array.from({ length: count }, (_, i) => Promise.race(workers.map(worker => worker.waitForLine(`User registered: id=${i + 1} `, 30_000)))));
        for (const child of [...workers, app]) child.kill('SIGTERM');
        for (const child of [...workers, app]) expect(await child.exited).toEqual({ code: 0, signal: null });
        await Promise.all([...workers, app].map(v => v.closed));

        // Exactly one delivery per user, and the storage agrees: 20 done, nothing else left.
        const ids = consumedLines().map(v => Number(/id=(\d+)/.exec(v)![1])).sort((a, b) => a - b);
        expect(ids).toEqual(Array.from({ length: count }, (_, i) => i + 1));
        expect(await stats()).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 0, doneLastHour: count });
        for (const worker of workers) expect(worker.lines).toContain('Queue: stopped');
    }, 150_000);

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
        test(`${signal} during a slow callback lets it finish, leaves nothing leased and exits 0`, async () => {
            const worker = start('worker.ts', [], { WORKER_NAME: 'slow', EXAMPLE_DB_LATENCY_MS: '1500' });
            await worker.waitForLine("is consuming 'user/registered'", startup);
            await inspector.channel<User>('user/registered').produceMany([1, 2, 3].map(id => ({ id, username: 'u' + id })));
            // Leased: the running message and one prefetched.
            await waitFor(async () => (await stats()).inFlight > 0, 'the first callback to run');

            worker.kill(signal);
            expect(await worker.exited).toEqual({ code: 0, signal: null });
            expect(worker.lines.filter(v => v.startsWith('User registered:'))).toEqual(['User registered: id=1 username=u1 worker=slow']);
            expect(worker.lines.some(v => v.includes(`received ${signal}`))).toBe(true);
            // The first is done; the others wait for the next worker, none leased, none lost.
            expect(await stats()).toMatchObject({ pending: 2, inFlight: 0, failed: 0, doneLastHour: 1 });
        }, 90_000);
    }

    test('app.ts runs the operator commands: queue:stats --json prints the figures', async () => {
        const channel = inspector.channel<User>('user/registered');
        await channel.produceMany([1, 2, 3].map(id => ({ id, username: 'u' + id })));
        await channel.produce({ id: 4, username: 'later' }, { delay: '1h' });
        const cli = start('app.ts', ['queue:stats', '--json']);
        expect(await cli.exited).toEqual({ code: 0, signal: null });
        expect(JSON.parse(cli.lines.join('\n'))).toEqual([{ channel: 'user/registered', pending: 3, delayed: 1, inFlight: 0, failed: 0, doneLastHour: 0, ratePerSecond: 0, paused: false }]);

        const unknown = start('app.ts', ['queue:failed', 'nope']);
        expect((await unknown.exited).code).toBe(1);
        expect(unknown.errorOutput).toContain("Error: Unknown channel 'nope'");
    }, 90_000);
});
