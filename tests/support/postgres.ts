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
        const lock = new RestartLock(options.exclusive ? 'exclusive' : 'shared');
        beforeAll(() => lock.acquire(), 120_000);
        // Also when beforeAll timed out: a lock granted after that would otherwise be held until the
        // test process ends, and block every other test file (an exclusive request waiting behind it
        // queues all later shared ones).
        afterAll(() => lock.release());
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

/** The restart lock, held by one session: waits for it, reconnecting while the server restarts. The lock ends with its session. */
class RestartLock {
    protected client?: Client;
    protected released = false;
    protected granted = false;

    constructor(protected readonly mode: 'shared' | 'exclusive', protected readonly waitMs = 110_000) {
    }

    async acquire(): Promise<void> {
        const deadline = Date.now() + this.waitMs;
        while (!this.released) {
            try {
                this.client = await postgresClient();
                if (this.released) break;
                // The wait itself gives up at the deadline too, instead of as long as other files hold the lock.
                await this.client.query(`SET lock_timeout = ${Math.max(1, deadline - Date.now())}`);
                await this.client.query(this.mode === 'shared' ? 'SELECT pg_advisory_lock_shared($1)' : 'SELECT pg_advisory_lock($1)', [restartLockKey]);
                this.granted = true;
                return;
            } catch (error) {
                await this.client?.end().catch(() => undefined);
                this.client = undefined;
                // Released while waiting: the hook that waited has failed already (timeout).
                if (this.released) return;
                if (Date.now() > deadline) throw error;
                await new Promise(resolve => setTimeout(resolve, 200));
            }
        }
        // Released while connecting.
        await this.release();
    }

    /** Ends the session: releases a held lock, or withdraws a request still waiting. */
    async release(): Promise<void> {
        this.released = true;
        const client = this.client;
        this.client = undefined;
        // A backend waiting for a lock does not notice its client leaving: cancel the wait.
        const pid = (client as { processID?: number } | undefined)?.processID;
        if (client && !this.granted && pid) await sql('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
        await client?.end().catch(() => undefined);
    }
}

/**
 * The restart lock outside a `describePostgres` block (the chaos run restarts the server under it).
 * Resolves with the function that releases it; gives up after `waitMs`.
 */
export async function holdRestartLock(mode: 'shared' | 'exclusive', waitMs?: number): Promise<() => Promise<void>> {
    const lock = new RestartLock(mode, waitMs);
    try {
        await lock.acquire();
    } catch (error) {
        await lock.release();
        throw error;
    }
    return () => lock.release();
}
