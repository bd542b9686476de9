import type BetterSqlite3 from 'better-sqlite3';
import { performance } from 'perf_hooks';
import { SqliteWriteGate } from './sqlite-write-gate';

/** Between two tries for another process's write lock: the shortest timer, so the lock is taken within about a millisecond of its release. */
const retryMs = 1;
/**
 * For the first 2 ms of a wait the tries are 0.1 ms apart instead (a sleep of the thread, then a turn of the
 * event loop): most waits are for one commit of another process (its fsync, 0.2 to 2 ms), and a millisecond
 * timer added up to a millisecond to each of them. Later, timers: few tries, little CPU, however long the wait.
 */
const fineRetryWindowMs = 2;
const fineRetryMs = 0.1;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

interface PendingWrite {
    operation: () => unknown;
    durable: boolean;
    /** Date.now() after which a write still waiting for the lock fails with the last SQLITE_BUSY. */
    deadline: number;
    resolve(value: unknown): void;
    reject(error: unknown): void;
}

export interface SqliteWriteQueueOptions {
    busyTimeout: number;
    synchronous: 'full' | 'normal';
    /** What a write gets when the connection was closed while it waited. */
    closedError(): unknown;
}

/**
 * The adapter's writes to one connection, each an IMMEDIATE transaction,
 * waiting for another process's write lock without blocking the event loop.
 *
 * SQLite's own busy handler (better-sqlite3's `timeout`) sleeps inside the
 * call, 1, 2, 5, 10, 15, 20, 25, ... ms between tries. With several worker
 * processes on one file, a writer that met the lock slept there with its
 * event loop frozen (no callback finished, no timer fired) while the lock,
 * held for a millisecond or two, was free most of that sleep; and whoever had
 * just committed, not sleeping, took it again. Four workers drained slower
 * than one, and one of them did most of the work.
 *
 * So a transaction begins with no busy wait (busy_timeout 0 for the BEGIN
 * only; reads keep the configured timeout). On SQLITE_BUSY this process waits
 * a timer's length, running its callbacks meanwhile, and tries again, at the
 * same pace however long it has waited. The writes that arrive while it waits
 * (a claim, the group commit of acks, a renewal) join one transaction, each in
 * its own savepoint, so each lock hand-over carries all of this process's
 * pending work. Uncontended, a write runs at once, in the caller's turn.
 */
export class SqliteWriteQueue {
    protected pending: PendingWrite[] = [];
    protected running = false;
    protected level: 'full' | 'normal';
    protected readonly wait: string;
    protected readonly begin: BetterSqlite3.Statement;
    protected readonly commit: BetterSqlite3.Statement;
    protected readonly rollback: BetterSqlite3.Statement;
    protected readonly savepoint: BetterSqlite3.Statement;
    protected readonly release: BetterSqlite3.Statement;
    protected readonly rollbackTo: BetterSqlite3.Statement;

    /** `gate`: this process's ORM transactions on the file (see sqlite-write-gate.ts). The connection is at `synchronous` now. */
    constructor(protected readonly db: BetterSqlite3.Database, protected readonly options: SqliteWriteQueueOptions, protected readonly gate?: SqliteWriteGate) {
        this.level = options.synchronous;
        // exec, not a prepared statement: SQLite applies busy_timeout when it compiles the pragma, so a prepared one
        // takes effect once, at prepare(), and running it later changes nothing.
        this.wait = `PRAGMA busy_timeout = ${Math.floor(options.busyTimeout)}`;
        this.begin = db.prepare('BEGIN IMMEDIATE');
        this.commit = db.prepare('COMMIT');
        this.rollback = db.prepare('ROLLBACK');
        this.savepoint = db.prepare('SAVEPOINT queue_write');
        this.release = db.prepare('RELEASE queue_write');
        this.rollbackTo = db.prepare('ROLLBACK TO queue_write');
    }

    /**
     * Runs `operation` in a transaction and resolves with its result after the commit. `durable`: the commit waits
     * for the configured `synchronous` level; otherwise for NORMAL. What `operation` throws rejects this write only.
     */
    write<R>(operation: () => R, durable: boolean): Promise<R> {
        return new Promise<R>((resolve, reject) => {
            this.pending.push({ operation, durable, deadline: Date.now() + this.options.busyTimeout, resolve: resolve as (value: unknown) => void, reject });
            if (!this.running) void this.run();
        });
    }

    protected async run(): Promise<void> {
        this.running = true;
        let waitingSince: number | undefined;
        try {
            while (this.pending.length) {
                // An ORM transaction of this process may hold the lock across awaits: wait for it here, not in SQLite.
                if (this.gate?.held) {
                    try {
                        await this.gate.idle(this.options.busyTimeout);
                    } catch (error) {
                        for (const write of this.pending.splice(0)) write.reject(error);
                        continue;
                    }
                }
                const busy = this.attempt();
                if (!busy) {
                    waitingSince = undefined;
                    continue;
                }
                const now = Date.now();
                this.pending = this.pending.filter(write => {
                    if (write.deadline > now) return true;
                    write.reject(busy);
                    return false;
                });
                if (!this.pending.length) continue;
                waitingSince ??= performance.now();
                if (performance.now() - waitingSince < fineRetryWindowMs) {
                    Atomics.wait(sleeper, 0, 0, fineRetryMs);
                    await new Promise<void>(resolve => setImmediate(resolve));
                } else {
                    await new Promise<void>(resolve => setTimeout(resolve, retryMs));
                }
            }
        } finally {
            this.running = false;
        }
    }

    /** One transaction with every pending write; returns the SQLITE_BUSY of a lock held elsewhere (nothing ran), else undefined. */
    protected attempt(): unknown {
        if (!this.db.open) {
            const error = this.options.closedError();
            for (const write of this.pending.splice(0)) write.reject(error);
            return undefined;
        }
        const durable = this.pending.some(v => v.durable);
        const level = durable ? this.options.synchronous : 'normal';
        try {
            if (level !== this.level) {
                this.db.pragma(`synchronous = ${level.toUpperCase()}`);
                this.level = level;
            }
            this.db.exec('PRAGMA busy_timeout = 0');
            try {
                this.begin.run();
            } finally {
                this.db.exec(this.wait);
            }
        } catch (error) {
            if (isBusy(error)) return error;
            for (const write of this.pending.splice(0)) write.reject(error);
            return undefined;
        }
        const batch = this.pending.splice(0);
        const results: ({ ok: true, value: unknown } | { ok: false, error: unknown })[] = [];
        try {
            if (batch.length === 1) {
                results.push({ ok: true, value: batch[0].operation() });
            } else {
                for (const write of batch) results.push(this.inSavepoint(write.operation));
            }
            this.commit.run();
        } catch (error) {
            try {
                if (this.db.inTransaction) this.rollback.run();
            } catch {
                // The connection is gone or the transaction already ended: nothing to undo, and the writes hear `error`.
            }
            for (const write of batch) write.reject(error);
            return undefined;
        }
        batch.forEach((write, i) => {
            const result = results[i];
            if (result.ok) write.resolve(result.value);
            else write.reject(result.error);
        });
        return undefined;
    }

    /** One write of a shared transaction: what it throws undoes only its own changes. */
    protected inSavepoint(operation: () => unknown): { ok: true, value: unknown } | { ok: false, error: unknown } {
        this.savepoint.run();
        try {
            const value = operation();
            this.release.run();
            return { ok: true, value };
        } catch (error) {
            // SQLite ended the whole transaction itself (a full disk, an I/O error): it fails every write of it.
            if (!this.db.inTransaction) throw error;
            this.rollbackTo.run();
            this.release.run();
            return { ok: false, error };
        }
    }
}

function isBusy(error: unknown): boolean {
    const code = (error as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' && code.startsWith('SQLITE_BUSY');
}
