/**
 * What only the PostgreSQL adapter does: options, lazy driver, concurrent
 * migration, NOTIFY coalescing, dead workers judged by their session, and
 * recovery from lost connections.
 */
import { BrokerQueue, PostgresQueueAdapter, QueueOptionError, QueueStorageError } from '../../src';
import { latestPostgresSchemaVersion, migrationLockKey } from '../../src/adapters/postgres/postgres-schema';
import { postgresStatements } from '../../src/adapters/postgres/postgres-statements';
import { MemoryLogger } from '../support/logger';
import { describePostgres, dropSchema, postgresClient, postgresUrl, sql, testSchema } from '../support/postgres';
import { waitFor } from '../support/wait';

const payload = new Uint8Array([1, 2, 3]);
const request = (channel = 'n', maxAttempts = 5) => ({ channel, payload, delay: 0, priority: 0, maxAttempts });

describe('postgres adapter options', () => {
    test('bad options are named errors, before any connection', () => {
        expect(() => new PostgresQueueAdapter({} as any)).toThrow(QueueOptionError);
        expect(() => new PostgresQueueAdapter({ connectionString: postgresUrl, pool: {} as any })).toThrow(/exactly one/);
        expect(() => new PostgresQueueAdapter({ connectionString: postgresUrl, schema: 'Bad-Name' })).toThrow(/schema/);
        expect(() => new PostgresQueueAdapter({ connectionString: postgresUrl, connectTimeout: '1 sec' })).toThrow(/connectTimeout/);
        expect(() => new PostgresQueueAdapter({ connectionString: postgresUrl, connectionUrl: 'x' } as any)).toThrow(/Unknown PostgreSQL adapter option 'connectionUrl'/);
        expect(new PostgresQueueAdapter({ connectionString: postgresUrl }).options).toMatchObject({ schema: 'deepkit_queue', poolSize: 10, connectTimeout: 10_000, queryTimeout: 30_000 });
    });

    test('without the pg package, connect() says to install it', async () => {
        await jest.isolateModulesAsync(async () => {
            jest.doMock('pg', () => {
                throw Object.assign(new Error("Cannot find module 'pg' from 'postgres-driver.ts'"), { code: 'MODULE_NOT_FOUND' });
            });
            try {
                const { PostgresQueueAdapter: Isolated } = require('../../src');
                const error = await new Isolated({ connectionString: postgresUrl }).connect().catch((e: Error) => e);
                expect(error.name).toBe('QueueStorageError');
                expect(error.message).toContain('npm install pg');
            } finally {
                jest.dontMock('pg');
            }
        });
    });

    test('an unreachable server fails connect() with QueueStorageError after connectTimeout', async () => {
        const adapter = new PostgresQueueAdapter({ connectionString: 'postgres://postgres@127.0.0.1:1/postgres', connectTimeout: 300 });
        const error = await adapter.connect().catch(e => e);
        expect(error).toBeInstanceOf(QueueStorageError);
        expect(error.message).toContain('127.0.0.1:1/postgres');
        expect(error.message).not.toContain('postgres@');
    });
});

describePostgres('postgres adapter', () => {
    let schema: string;
    const adapters: PostgresQueueAdapter[] = [];

    function adapter(): PostgresQueueAdapter {
        const created = new PostgresQueueAdapter({ connectionString: postgresUrl, schema });
        adapters.push(created);
        return created;
    }

    beforeEach(() => {
        schema = testSchema();
    });

    afterEach(async () => {
        for (const created of adapters.splice(0)) await created.disconnect();
        await dropSchema(schema);
    });

    test('several hosts starting at once migrate the fresh schema exactly once', async () => {
        await Promise.all(Array.from({ length: 5 }, () => adapter().connect()));
        expect(await sql(`SELECT version FROM "${schema}".queue_migrations ORDER BY version`))
            .toEqual(Array.from({ length: latestPostgresSchemaVersion }, (_, i) => ({ version: i + 1 })));
    });

    test('a connection lost during the migration (the server shutting down: 57P01) is retried within connectTimeout', async () => {
        // The migration waits for its advisory lock, held here; its backend is then terminated, as a shutdown does.
        const holder = await postgresClient();
        try {
            const key = BigInt(migrationLockKey(schema));
            await holder.query('BEGIN');
            await holder.query('SELECT pg_advisory_xact_lock($1::bigint)', [key.toString()]);
            const starting = new PostgresQueueAdapter({ connectionString: postgresUrl, schema, connectTimeout: '20s' });
            adapters.push(starting);
            const connected = starting.connect();
            const unsigned = BigInt.asUintN(64, key);
            const [waiting] = await waitFor(async () => {
                const rows = await sql<{ pid: number }>("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1::bigint::oid AND objid = $2::bigint::oid",
                    [(unsigned >> 32n).toString(), (unsigned & 0xffffffffn).toString()]);
                return rows.length ? rows : undefined;
            }, 'the migration to wait for its lock');
            await sql('SELECT pg_terminate_backend($1)', [waiting.pid]);
            await holder.query('COMMIT');
            await expect(connected).resolves.toBeUndefined();
            await starting.enqueue([request()]);
            expect(await sql(`SELECT count(*)::int AS n FROM "${schema}".queue_messages`)).toEqual([{ n: 1 }]);
        } finally {
            await holder.end();
        }
    });

    test('one NOTIFY per channel per transaction, not one per message', async () => {
        const producer = adapter();
        await producer.connect();
        const listener = await postgresClient();
        try {
            const [{ name }] = (await listener.query("SELECT 'dq_' || md5($1) AS name", [`${schema}.n`])).rows;
            const received: string[] = [];
            listener.on('notification', message => received.push(message.payload ?? ''));
            await listener.query(`LISTEN "${name}"`);
            await producer.enqueue(Array.from({ length: 50 }, () => request()));
            await producer.enqueue([request(), request('other'), request()]);
            // Notifications arrive in commit order: once the marker is here, all earlier ones are too.
            await sql('SELECT pg_notify($1, $2)', [name, 'marker']);
            await waitFor(() => received.includes('marker'), 'the marker notification');
            expect(received).toEqual(['', '', 'marker']);
        } finally {
            await listener.end();
        }
    });

    test('a consumer whose process is gone (its LISTEN session ended) is reclaimed by another host at once', async () => {
        const dying = adapter();
        const survivor = adapter();
        await dying.connect();
        await survivor.connect();
        await survivor.enqueue([request('n', 1), request('n', 1)]);
        await dying.registerConsumer({ id: 'dying', channel: 'n', host: 'h', pid: 4242 });
        const [running, unstarted] = await dying.claim('n', 'dying', 2, 60_000);
        expect(await dying.settle([{ kind: 'start', id: running.id, consumerId: 'dying' }])).toEqual([]);
        expect(await survivor.reclaimAbandoned()).toBe(0);
        // As kill -9 would: the session ends, nothing is unregistered.
        await dying.disconnect();
        await waitFor(async () => await survivor.reclaimAbandoned() === 2, 'the dead consumer to be noticed');
        // Only the one whose start was recorded used its attempt.
        const [failed, ...others] = await survivor.listFailed('n', { limit: 10, offset: 0 });
        expect(others).toEqual([]);
        expect(failed.id).toBe(running.id);
        expect(failed.error).toBe('Delivery lost: worker process 4242 on h died during the attempt');
        expect(await sql(`SELECT id FROM "${schema}".queue_consumers`)).toEqual([]);
        await survivor.registerConsumer({ id: 'next', channel: 'n', host: 'h', pid: process.pid });
        expect(await survivor.claim('n', 'next', 2, 60_000)).toEqual([expect.objectContaining({ id: unstarted.id, attempt: 1, recordStart: true })]);
    });

    test('a live consumer whose LISTEN session drops registers again and keeps its leases', async () => {
        const worker = adapter();
        const other = adapter();
        await worker.connect();
        await other.connect();
        await other.enqueue([request()]);
        await worker.registerConsumer({ id: 'w', channel: 'n', host: 'h', pid: process.pid });
        const woken: number[] = [];
        const unwatch = worker.watch('n', () => woken.push(Date.now()));
        const [claimed] = await worker.claim('n', 'w', 1, 60_000);
        const [{ backend_pid: before }] = await sql(`SELECT backend_pid FROM "${schema}".queue_consumers`);
        await sql('SELECT pg_terminate_backend($1)', [before]);
        const [{ backend_pid: after }] = await waitFor(async () => {
            const rows = await sql(`SELECT backend_pid FROM "${schema}".queue_consumers`);
            return rows[0].backend_pid !== before && rows;
        }, 'the consumer to be registered with the new session');
        expect(after).not.toBe(before);
        expect(await other.reclaimAbandoned()).toBe(0);
        expect(await worker.renewLeases('w', [claimed.id], 60_000)).toEqual([]);
        // The new session LISTENs again: a message produced elsewhere wakes the watcher.
        const wokenBefore = woken.length;
        await other.enqueue([request()]);
        await waitFor(() => woken.length > wokenBefore, 'a wake-up through the new session');
        unwatch();
    });

    test('pooled connections killed by the server are replaced on the next call', async () => {
        const queue = new BrokerQueue(adapter(), { logger: new MemoryLogger() });
        const channel = queue.channel<number>('n');
        await channel.produce(1);
        // Only this test's pool: its sessions last ran statements on this test's schema.
        const killed = await sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'deepkit-broker-queue' AND strpos(query, $1) > 0", [schema]);
        expect(killed.length).toBeGreaterThan(0);
        await expect(channel.produce(2)).resolves.toMatchObject({ deduplicated: false });
        expect((await queue.stats('n'))[0].pending).toBe(2);
    });

    test('an idle consumer polls about once per pollInterval, not in a loop', async () => {
        const storage = adapter();
        const statements = new Map<string, number>();
        const run = (storage as any).run.bind(storage);
        (storage as any).run = (statement: string, ...rest: unknown[]) => {
            statements.set(statement, (statements.get(statement) ?? 0) + 1);
            return run(statement, ...rest);
        };
        const queue = new BrokerQueue(storage, { logger: new MemoryLogger(), pollInterval: 100, reclaimInterval: 100 });
        const release = await queue.channel<number>('n').consume(() => undefined);
        try {
            await waitFor(() => statements.get('claim'), 'the first poll');
            statements.clear();
            await new Promise(resolve => setTimeout(resolve, 1000));
        } finally {
            await release();
        }
        // About 10 claims and reclaims in that second; the self-waking loop this guards against ran hundreds.
        expect(statements.get('claim') ?? 0).toBeLessThan(40);
        expect(statements.get('reclaim') ?? 0).toBeLessThan(40);
        // A claim that comes back short answers the consumer's next question itself.
        expect(statements.get('nextAvailable') ?? 0).toBeLessThan(5);
    });

    test('settling a large batch looks up each message with one index probe', async () => {
        const storage = adapter();
        await storage.connect();
        await storage.enqueue(Array.from({ length: 256 }, () => request()));
        await storage.registerConsumer({ id: 'c', channel: 'n', host: 'h', pid: process.pid });
        const ids = (await storage.claim('n', 'c', 256, 60_000)).map(v => v.id);
        const { text } = postgresStatements(schema).settle;
        const client = await postgresClient();
        try {
            await client.query('BEGIN');
            const values = [ids, ids.map(() => 'c'), ids.map(() => 'done'), ids.map(() => 0), ids.map(() => null)];
            const { rows: [{ 'QUERY PLAN': [{ Plan: plan }] }] } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${text}`, values);
            await client.query('ROLLBACK');
            let removed = 0;
            const walk = (node: any) => {
                // EXPLAIN reports rows per loop.
                if (node['Index Name']) removed += (node['Rows Removed by Filter'] ?? 0) * node['Actual Loops'];
                for (const child of node.Plans ?? []) walk(child);
            };
            walk(plan);
            // Looked up by owner alone, each message scanned half of the owner's 256 leases: over 30,000 rows.
            expect(removed).toBeLessThan(ids.length);
        } finally {
            await client.end();
        }
    });

    test('bookkeeping commits do not wait for the WAL flush; commits that store messages do', async () => {
        const storage = adapter();
        await storage.connect();
        await storage.enqueue([request(), request(), request('failed', 1)]);
        await storage.registerConsumer({ id: 'c', channel: 'n', host: 'h', pid: process.pid });
        const [first] = await storage.claim('n', 'c', 1, 60_000);
        await storage.registerConsumer({ id: 'f', channel: 'failed', host: 'h', pid: process.pid });
        const [failing] = await storage.claim('failed', 'f', 1, 60_000);
        await storage.settle([{ kind: 'fail', id: failing.id, consumerId: 'f', error: 'boom' }]);
        const statements = postgresStatements(schema);
        // Each in a transaction that is rolled back: the setting it leaves for its commit is what counts.
        const commitMode = async (statement: keyof typeof statements, values: unknown[]) => {
            const client = await postgresClient();
            try {
                await client.query('BEGIN');
                await client.query(statements[statement].text, values);
                const [{ synchronous_commit }] = (await client.query('SHOW synchronous_commit')).rows;
                await client.query('ROLLBACK');
                return synchronous_commit;
            } finally {
                await client.end();
            }
        };
        expect(await commitMode('claim', ['n', 1, 'c', 60_000, false, 1_000_000])).toBe('off');
        expect(await commitMode('renew', ['c', [first.id], 60_000])).toBe('off');
        expect(await commitMode('settle', [[first.id], ['c'], ['done'], [0], [null]])).toBe('off');
        expect(await commitMode('settle', [[first.id], ['c'], ['retry'], [10], ['err']])).toBe('off');
        expect(await commitMode('unregister', ['c'])).toBe('off');
        expect(await commitMode('reclaim', [[]])).toBe('off');
        expect(await commitMode('enqueue', [['n'], [0], [0], [5], [Buffer.from(payload)], [null], [null], [null]])).toBe('on');
        expect(await commitMode('retryFailed', ['failed', null])).toBe('on');
        expect(await commitMode('purge', ['n', 'all'])).toBe('on');
        // Local to the statement's transaction: a pool shared with the application keeps its setting.
        const client = await postgresClient();
        try {
            await client.query(statements.claim.text, ['n', 1, 'c', 60_000, false, 1_000_000]);
            expect((await client.query('SHOW synchronous_commit')).rows[0].synchronous_commit).toBe('on');
        } finally {
            await client.end();
        }
    });

    describe('claim plans stay index probes', () => {
        /** Node types and index names of the claim's plan; `generic` is the plan a connection caches after five runs. */
        async function claimPlan(generic: boolean): Promise<{ types: string[], indexes: string[] }> {
            const { text } = postgresStatements(schema).claim;
            const client = await postgresClient();
            try {
                await client.query(`SET plan_cache_mode = ${generic ? 'force_generic_plan' : 'force_custom_plan'}`);
                await client.query(`PREPARE claim(text, int, text, float8, boolean, bigint) AS ${text}`);
                const { rows: [{ 'QUERY PLAN': [{ Plan: plan }] }] } = await client.query("EXPLAIN (FORMAT JSON) EXECUTE claim('n', 256, 'c', 1000, false, 1000000)");
                const nodes: { 'Node Type': string, 'Index Name'?: string }[] = [];
                const walk = (node: any) => { nodes.push(node); for (const child of node.Plans ?? []) walk(child); };
                walk(plan);
                // The byte budget's window sorts the candidates, at most `limit` rows: that Sort is above their Limit.
                const limited = (node: any): boolean => node['Node Type'] === 'Limit' || (node.Plans ?? []).some(limited);
                const type = (node: any) => node['Node Type'] === 'Sort' && limited(node) ? 'Sort of the limited candidates' : node['Node Type'];
                return { types: nodes.map(type), indexes: nodes.flatMap(v => v['Index Name'] ?? []) };
            } finally {
                await client.end();
            }
        }

        beforeEach(async () => {
            const storage = adapter();
            await storage.connect();
            await sql(`INSERT INTO "${schema}".queue_messages (channel, state, priority, available_at, produced_at, max_attempts, payload)
                SELECT 'n', 0, 0, now(), now(), 5, '\\x01' FROM generate_series(1, 50000)`);
        });

        test('before the table has statistics (a fresh schema filled fast)', async () => {
            const plan = await claimPlan(false);
            // Through queue_messages_next, every pending row was sorted per claim.
            expect(plan.types).not.toContain('Sort');
            expect(plan.indexes).toContain('queue_messages_ready');
        });

        test('in the generic plan, with statistics of a large backlog', async () => {
            await sql(`ANALYZE "${schema}".queue_messages`);
            const plan = await claimPlan(true);
            // Joined to the claimed ids, the update read the whole table.
            expect(plan.types).not.toContain('Seq Scan');
            expect(plan.types).not.toContain('Sort');
            expect(plan.indexes).toContain('queue_messages_ready');
        });
    });

    test('a claim packed into one value keeps ids past 2^53, headers, payloads and the delivery order', async () => {
        const storage = adapter();
        await storage.connect();
        await sql(`SELECT setval('"${schema}".queue_messages_id_seq', 9007199254740990)`);
        const big = new Uint8Array(70_000).map((_, i) => i % 251);
        await storage.enqueue([
            { ...request(), payload: new Uint8Array(0) },
            { ...request(), payload: big, headers: { traceparent: '00-ü-01' } },
            { ...request(), priority: 5 },
        ]);
        await storage.registerConsumer({ id: 'c', channel: 'n', host: 'h', pid: process.pid });
        const claimed = await storage.claim('n', 'c', 10, 60_000);
        expect(claimed.map(v => [v.id, v.priority, v.payload.length, v.headers])).toEqual([
            ['9007199254740993', 5, 3, undefined],
            ['9007199254740991', 0, 0, undefined],
            ['9007199254740992', 0, 70_000, { traceparent: '00-ü-01' }],
        ]);
        expect(Buffer.from(claimed[2].payload).equals(Buffer.from(big))).toBe(true);
        expect(claimed[0]).toMatchObject({ channel: 'n', attempt: 1, maxAttempts: 5, recordStart: false, scheduledAt: undefined });
        expect(claimed[0].producedAt).toBeInstanceOf(Date);
    });

    test('a settle batch of several consumers, kinds and errors applies each, and names the ids no longer leased', async () => {
        const storage = adapter();
        await storage.connect();
        await storage.enqueue([request(), request(), request(), request()]);
        await storage.registerConsumer({ id: 'a', channel: 'n', host: 'h', pid: process.pid });
        await storage.registerConsumer({ id: 'b', channel: 'n', host: 'h', pid: process.pid });
        const [one, two] = await storage.claim('n', 'a', 2, 60_000);
        const [three, four] = await storage.claim('n', 'b', 2, 60_000);
        const lost = await storage.settle([
            { kind: 'done', id: one.id, consumerId: 'a', retention: 0 },
            { kind: 'retry', id: two.id, consumerId: 'a', delay: 60_000, error: 'try again' },
            { kind: 'fail', id: three.id, consumerId: 'b', error: 'broken' },
            // Leased to b, not a: no longer this consumer's.
            { kind: 'done', id: four.id, consumerId: 'a', retention: 0 },
        ]);
        expect(lost).toEqual([four.id]);
        const rows = await sql(`SELECT id::text, state, last_error, lease_owner FROM "${schema}".queue_messages ORDER BY id`);
        expect(rows).toEqual([
            { id: two.id, state: 0, last_error: 'try again', lease_owner: null },
            { id: three.id, state: 2, last_error: 'broken', lease_owner: null },
            { id: four.id, state: 1, last_error: null, lease_owner: 'b' },
        ]);
        // All alike: one consumer, one kind, no errors.
        expect(await storage.settle([{ kind: 'done', id: four.id, consumerId: 'b', retention: 1000 }])).toEqual([]);
        expect(await sql(`SELECT state FROM "${schema}".queue_messages WHERE id = $1`, [four.id])).toEqual([{ state: 3 }]);
    });

    test('times are the database clock: ids are strings, producedAt comes from the server', async () => {
        const storage = adapter();
        await storage.connect();
        const [{ id }] = await storage.enqueue([request()]);
        await storage.registerConsumer({ id: 'c', channel: 'n', host: 'h', pid: process.pid });
        const [claimed] = await storage.claim('n', 'c', 1, 1000);
        const [{ produced }] = await sql(`SELECT (extract(epoch FROM produced_at) * 1000)::float8 AS produced FROM "${schema}".queue_messages WHERE id = $1`, [id]);
        expect(claimed).toMatchObject({ id, attempt: 1 });
        expect(claimed.producedAt.getTime()).toBe(Math.floor(produced));
    });
});
