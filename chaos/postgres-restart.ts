import { execFile } from 'child_process';
import { readdirSync } from 'fs';
import { promisify } from 'util';
import { holdRestartLock, sql } from '../tests/support/postgres';

const run = promisify(execFile);

export interface ServerRestart {
    /** Waited this long for the exclusive restart lock (other test files' runs hold it shared). */
    lockWaitMs: number;
    /** Right before pg_ctlcluster was called. */
    startedAt: number;
    /** pg_ctlcluster returned: the server accepts connections again. */
    endedAt: number;
}

/**
 * Restarts the local PostgreSQL cluster under the exclusive advisory restart
 * lock of tests/support/postgres.ts, so that no test file of anyone using this
 * server runs meanwhile. The restart ends the lock's session and so the lock.
 * `lockHeld`: the caller holds it already (a jest file under describePostgres
 * exclusive); taking it again from another session would wait forever.
 * Other runs may hold the lock for minutes: gives up after `lockTimeout`.
 */
export async function restartPostgres(lockHeld: boolean, lockTimeout: number): Promise<ServerRestart> {
    const waitStarted = Date.now();
    const release = lockHeld ? undefined : await holdRestartLock('exclusive', lockTimeout).catch(error => {
        throw new Error(`no restart: the exclusive restart lock was not free within ${lockTimeout} ms (other test runs on this server held it): ${error.message}`);
    });
    const startedAt = Date.now();
    const cluster = ['--skip-systemctl-redirect', readdirSync('/etc/postgresql')[0], 'main'];
    try {
        await run('pg_ctlcluster', [...cluster, 'restart']);
    } catch (error) {
        // Never leave the shared server down.
        await run('pg_ctlcluster', [...cluster, 'start']).catch(() => undefined);
        throw error;
    } finally {
        await release?.();
    }
    // Polled: nothing announces that the server accepts connections.
    for (let tries = 0; !await sql('SELECT 1').then(() => true, () => false); tries++) {
        if (tries > 300) throw new Error('PostgreSQL did not accept connections within 30 s of its restart');
        await new Promise(resolve => setTimeout(resolve, 100));
    }
    return { lockWaitMs: startedAt - waitStarted, startedAt, endedAt: Date.now() };
}
