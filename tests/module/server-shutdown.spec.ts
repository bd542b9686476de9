import { join } from 'path';
import { BrokerQueue, SqliteQueueAdapter } from '../../src';
import { Child } from '../support/child';
import { MemoryLogger } from '../support/logger';
import { freePort } from '../support/port';
import { tempDir } from '../support/temp';

const fixture = join(__dirname, '..', 'fixtures', 'http-server-consumer.ts');
// A child needs seconds to start (ts-node, @deepkit/framework), more on a busy machine.
const startup = 60_000;

/**
 * `server:start` installs its own SIGTERM handler, which exits with code 0
 * shortly after the HTTP server closes: consumers in that process must drain
 * before, and the exit code must say when they could not.
 */
describe('consuming inside a Deepkit HTTP server (server:start), real SIGTERM', () => {
    let dir: ReturnType<typeof tempDir>;
    let inspector: BrokerQueue;
    let children: Child[];

    beforeEach(() => {
        dir = tempDir();
        children = [];
        inspector = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('queue.sqlite') }), { logger: new MemoryLogger() });
    });

    afterEach(async () => {
        for (const child of children) child.kill('SIGKILL');
        await inspector.close();
        dir.remove();
    });

    async function startServer(mode: 'finish' | 'hang', shutdownTimeout: string) {
        const port = await freePort();
        // cwd in the temp dir: FrameworkModule creates ./var/debug there. NODE_PATH lets -r ts-node resolve from it.
        const child = new Child(fixture, [], {
            APP_FRAMEWORK_PORT: String(port),
            APP_BROKER_QUEUE_SQLITE_PATH: dir.file('queue.sqlite'),
            APP_BROKER_QUEUE_SHUTDOWN_TIMEOUT: shutdownTimeout,
            JOB_MODE: mode,
            NODE_PATH: join(__dirname, '..', '..', 'node_modules'),
        }, dir.path);
        children.push(child);
        await child.waitForLine('Server started', startup);
        // "Server started" can precede the listening socket by a moment; nothing else announces it across processes.
        let response: Response | undefined;
        for (let tries = 0; !response; tries++) {
            response = await fetch(`http://127.0.0.1:${port}/ping`).catch(error => {
                if (tries >= 50) throw error;
                return new Promise<undefined>(resolve => setTimeout(() => resolve(undefined), 100));
            });
        }
        expect(await response.json()).toBe('pong');
        return child;
    }

    const stats = async () => (await inspector.stats('jobs'))[0];

    test('a callback running at SIGTERM finishes, its message is settled done, exit code 0', async () => {
        const { id } = await inspector.channel<{ n: number }>('jobs').produce({ n: 1 });
        const server = await startServer('finish', '30s');
        await server.waitForLine(`started ${id}`);
        server.kill('SIGTERM');
        expect(await server.exited).toEqual({ code: 0, signal: null });
        expect(server.lines).toContain(`finished ${id}`);
        expect(await stats()).toMatchObject({ pending: 0, inFlight: 0, failed: 0, doneLastHour: 1 });
    }, 120_000);

    test('a callback still running at the shutdown timeout: its message is handed back, exit code 1', async () => {
        const { id } = await inspector.channel<{ n: number }>('jobs').produce({ n: 1 });
        const server = await startServer('hang', '200ms');
        await server.waitForLine(`started ${id}`);
        server.kill('SIGTERM');
        expect(await server.exited).toEqual({ code: 1, signal: null });
        expect(server.lines.join('\n')).toContain('handed back for redelivery');
        expect(await stats()).toMatchObject({ pending: 1, inFlight: 0, failed: 0, doneLastHour: 0 });
    }, 120_000);
});
