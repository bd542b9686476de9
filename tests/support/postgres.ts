import { spawnSync } from 'child_process';
import { randomBytes } from 'crypto';
import type { Client } from 'pg';

/** The server the PostgreSQL tests use: trust auth on 127.0.0.1 unless `POSTGRES_URL` says otherwise. */
export const postgresUrl = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** Serializes a server restart against every other PostgreSQL test file (see `describePostgres`). */
const restartLockKey = 7_265_021_944;

/** Checked synchronously, once per test file, so a suite can be skipped while jest collects tests. */
function probe(): string | undefined {
    const script = `const c = new (require('pg').Client)({ connectionString: process.env.DBQ_URL, connectionTimeoutMillis: 3000 });
        c.connect().then(() => c.end(), e => { console.log(e.message || e.code); process.exit(1); });`;
    const result = spawnSync(process.execPath, ['-e', script], { env: { ...process.env, DBQ_URL: postgresUrl }, encoding: 'utf8', timeout: 10_000 });
    return result.status === 0 ? undefined : (result.stdout.trim() || result.stderr.trim() || 'no answer');
}

let unreachable: string | undefined | null = null;

/**
 * `describe` for tests that need the PostgreSQL server. Without a server the
 * suite is skipped with a message saying so, except under CI, where it fails.
 * Each file holds a shared advisory lock while it runs; the restart test takes
 * it exclusively, so restarting the server never breaks another file's run.
 */
export function describePostgres(name: string, body: () => void, options: { exclusive?: boolean } = {}): void {
    if (unreachable === null) unreachable = probe();
    if (unreachable !== undefined) {
        const message = `PostgreSQL tests '${name}' SKIPPED: cannot reach ${postgresUrl.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')} (${unreachable}). Start PostgreSQL or set POSTGRES_URL.`;
        if (process.env.CI) throw new Error(`${message} They must not skip in CI (CI is set).`);
        console.warn(message);
        describe.skip(name, body);
        return;
    }
    describe(name, () => {
        let release: (() => Promise<void>) | undefined;
        beforeAll(async () => {
            // Bounded below the hook's timeout: a wait that outlived the hook would take the lock later and hold it until the process ends.
            release = await holdRestartLock(options.exclusive ? 'exclusive' : 'shared', 110_000);
        }, 120_000);
        afterAll(async () => {
            await release?.();
        });
        body();
    });
}

/** A fresh schema name; the adapter creates it on connect. */
export function testSchema(): string {
    return 'test_' + randomBytes(5).toString('hex');
}

export async function postgresClient(): Promise<Client> {
    const { Client: PgClient } = require('pg') as typeof import('pg');
    const client = new PgClient({ connectionString: postgresUrl });
    // A server restart ends the session; without a listener its 'error' would crash the test process.
    client.on('error', () => undefined);
    await client.connect();
    return client;
}

/** Runs one statement on a short-lived connection. */
export async function sql<R = any>(text: string, values: unknown[] = []): Promise<R[]> {
    const client = await postgresClient();
    try {
        return (await client.query(text, values)).rows;
    } finally {
        await client.end().catch(() => undefined);
    }
}

export async function dropSchema(schema: string): Promise<void> {
    await sql(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

/**
 * Waits for the lock, reconnecting while the server restarts. The lock ends with its session,
 * so a server restart also ends it. Also used by the chaos run (chaos/postgres-restart.ts).
 * With `timeout` the wait for the lock itself also gives up at the deadline (lock_timeout),
 * instead of waiting as long as other files hold it.
 */
export async function holdRestartLock(mode: 'shared' | 'exclusive', timeout?: number): Promise<() => Promise<void>> {
    const deadline = Date.now() + (timeout ?? 110_000);
    for (;;) {
        let client: Client | undefined;
        try {
            client = await postgresClient();
            if (timeout !== undefined) await client.query(`SET lock_timeout = ${Math.max(1, deadline - Date.now())}`);
            await client.query(mode === 'shared' ? 'SELECT pg_advisory_lock_shared($1)' : 'SELECT pg_advisory_lock($1)', [restartLockKey]);
            const held = client;
            return async () => { await held.end().catch(() => undefined); };
        } catch (error) {
            await client?.end().catch(() => undefined);
            if (Date.now() > deadline) throw error;
            await new Promise(resolve => setTimeout(resolve, 200));
        }
    }
}
