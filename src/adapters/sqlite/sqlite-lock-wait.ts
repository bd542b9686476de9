import type BetterSqlite3 from 'better-sqlite3';

/** Sleeps the thread for a fraction of a millisecond (setTimeout's floor is 1 ms). */
const sleeper = new Int32Array(new SharedArrayBuffer(4));

/** Sub-millisecond retries for this long, then 1 ms timers. */
const fineRetriesMs = 10;
const fineRetryMs = 0.1;

function isBusy(error: unknown): boolean {
    const code = (error as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}

/**
 * Runs `operation` in an IMMEDIATE transaction, waiting for another
 * connection's write lock in small steps.
 *
 * SQLite's own busy handler sleeps 1, 2, 5, 10, 15 ms... between tries, with
 * the event loop standing still. The lock is typically held for one commit
 * (0.2 to 2 ms with its fsync), so a write that meets it once waited 3 to 8 ms
 * for a lock free after 1, and the connection that waited longest slept
 * longest while the one that just committed took the lock again. Here the
 * lock is tried every 0.1 ms, yielding to the event loop in between, for the
 * first 10 ms; then every millisecond until `busyTimeout`.
 *
 * Only the BEGIN is retried: an operation that started ran inside the
 * transaction and was rolled back with it, and may have side effects in the
 * caller; its error is thrown.
 */
export async function immediateWithLockWait<R>(db: BetterSqlite3.Database, operation: () => R, busyTimeout: number): Promise<R> {
    let started = false;
    const transaction = db.transaction(() => {
        started = true;
        return operation();
    });
    const since = Date.now();
    for (let waited = 0; ; waited = Date.now() - since) {
        const last = waited >= busyTimeout;
        // Reads keep the configured timeout: it is back after each try. (Not a prepared statement: SQLite applies
        // this pragma when it is prepared.)
        db.pragma('busy_timeout = 0');
        try {
            return transaction.immediate();
        } catch (error) {
            if (started || last || !isBusy(error)) throw error;
        } finally {
            db.pragma(`busy_timeout = ${busyTimeout}`);
        }
        if (waited < fineRetriesMs) {
            Atomics.wait(sleeper, 0, 0, fineRetryMs);
            await new Promise(resolve => setImmediate(resolve));
        } else {
            await new Promise(resolve => setTimeout(resolve, 1));
        }
    }
}
