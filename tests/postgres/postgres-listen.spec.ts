/**
 * The LISTEN session carries every wake-up: one that is silently dropped (no reset, no close, as when a
 * NAT forgets it) must be noticed and replaced within seconds, not after TCP's keep-alive of hours.
 */
import { BrokerQueue, PostgresQueueAdapter } from '../../src';
import { MemoryLogger } from '../support/logger';
import { describePostgres, dropSchema, postgresUrl, sql, testSchema } from '../support/postgres';
import { FreezableProxy } from '../support/tcp-proxy';
import { deferred, waitFor, within } from '../support/wait';

/** The LISTEN sessions that came through the proxy, by the proxy's upstream port. */
async function listenSessions(proxy: FreezableProxy): Promise<{ pid: number, client_port: number }[]> {
    return sql("SELECT pid, client_port FROM pg_stat_activity WHERE application_name = 'deepkit-broker-queue listen' AND client_port = ANY ($1::int[])", [proxy.upstreamPorts()]);
}

describePostgres('postgres LISTEN session', () => {
    let schema: string;
    let proxy: FreezableProxy;
    const queues: BrokerQueue[] = [];

    beforeEach(() => {
        schema = testSchema();
    });

    afterEach(async () => {
        for (const queue of queues.splice(0)) await queue.close();
        await proxy?.close();
        await dropSchema(schema);
    });

    async function proxiedUrl(): Promise<string> {
        const target = new URL(postgresUrl);
        proxy = new FreezableProxy({ host: target.hostname, port: Number(target.port || 5432) });
        const proxied = new URL(postgresUrl);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(await proxy.start());
        return proxied.toString();
    }

    test('consume() while new connections fail (a server restarting) opens its LISTEN session once they work again, within connectTimeout', async () => {
        const queue = new BrokerQueue(new PostgresQueueAdapter({ connectionString: await proxiedUrl(), schema, connectTimeout: '20s' }), { logger: new MemoryLogger() });
        queues.push(queue);
        await queue.connect();
        proxy.refusing = true;
        const received = deferred<number>();
        const consuming = queue.channel<number>('n').consume(n => received.resolve(n));
        // The LISTEN session's connection is refused at least once before the server "is back".
        await waitFor(() => proxy.refused > 0, 'a refused connection');
        proxy.refusing = false;
        await expect(consuming).resolves.toBeDefined();
        await queue.channel<number>('n').produce(3);
        expect(await within(received.promise, 10_000, 'the message')).toBe(3);
    });

    test('an idempotent statement whose pooled connections all stopped answering runs again on a new one, within connectTimeout', async () => {
        const adapter = new PostgresQueueAdapter({ connectionString: await proxiedUrl(), schema, poolSize: 2, queryTimeout: '300ms', connectTimeout: '10s' });
        const queue = new BrokerQueue(adapter, { logger: new MemoryLogger() });
        queues.push(queue);
        await queue.connect();
        await queue.channel<number>('n').produce(1);
        // Two pooled connections, both idle in the pool afterwards.
        await Promise.all([queue.stats('n'), queue.stats('n')]);
        const pooled = proxy.upstreamPorts();
        expect(pooled.length).toBeGreaterThanOrEqual(2);
        for (const port of pooled) proxy.freeze(port);
        // Each frozen connection fails its statement after queryTimeout; a single retry met the second one too.
        const [stats] = await queue.stats('n');
        expect(stats.pending).toBe(1);
    });

    test('a session that stops answering without closing is replaced within seconds, and wakes its consumer again', async () => {
        const target = new URL(postgresUrl);
        proxy = new FreezableProxy({ host: target.hostname, port: Number(target.port || 5432) });
        const proxied = new URL(postgresUrl);
        proxied.hostname = '127.0.0.1';
        proxied.port = String(await proxy.start());
        // Polling every 24.8 days: only a notification delivers a message.
        const worker = new BrokerQueue(new PostgresQueueAdapter({ connectionString: proxied.toString(), schema, queryTimeout: '2s' }), { logger: new MemoryLogger(), pollInterval: 2 ** 31 - 1 });
        const producer = new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }), { logger: new MemoryLogger() });
        queues.push(worker, producer);
        const received = deferred<number>();
        await worker.channel<number>('n').consume(n => received.resolve(n));
        const [before] = await waitFor(async () => { const rows = await listenSessions(proxy); return rows.length === 1 && rows; }, 'the LISTEN session');
        proxy.freeze(before.client_port);
        const [after] = await waitFor(async () => {
            const rows = (await listenSessions(proxy)).filter(row => row.client_port !== before.client_port);
            return rows.length === 1 && rows;
        }, 'a new LISTEN session', 20_000, 200);
        expect(after.pid).not.toBe(before.pid);
        // The consumer is registered with the new session, so no host takes it for dead.
        await waitFor(async () => {
            const rows = await sql(`SELECT backend_pid FROM "${schema}".queue_consumers`);
            return rows.length === 1 && rows[0].backend_pid === after.pid;
        }, 'the consumer registered with the new session');
        await producer.channel<number>('n').produce(7);
        expect(await within(received.promise, 10_000, 'the wake-up through the new session')).toBe(7);
    });
});
