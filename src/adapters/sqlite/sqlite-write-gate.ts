import { QueueOptionError, QueueStorageBusyError } from '../../errors';
import { consumerTransaction } from '../../orm/orm-session';

/**
 * The order of writers to one SQLite file within this process.
 *
 * better-sqlite3 is synchronous: a statement that meets SQLite's write lock
 * waits for it inside the call, and the event loop stands still meanwhile. An
 * ORM transaction holds that lock across `await`s (a consumer's callback runs
 * inside one), so a write from the same process would wait for a transaction
 * that cannot go on until the wait ends: a freeze for the busy timeout, then
 * SQLITE_BUSY. So within a process, the transactions that write to the shared
 * file take turns here first, asynchronously, and the queue's own short writes
 * wait until no transaction holds the turn. SQLite's busy timeout is then only
 * ever spent on other processes, whose event loops do go on.
 */
export class SqliteWriteGate {
    protected holder?: object;
    protected waiters: { owner: object, resolve: () => void }[] = [];
    protected idleWaiters: (() => void)[] = [];

    constructor(readonly file: string) {
    }

    holds(owner: object): boolean {
        return this.holder === owner;
    }

    get held(): boolean {
        return this.holder !== undefined;
    }

    /** Waits for the turn of `owner` (a transaction), at most `timeout` ms. */
    async acquire(owner: object, timeout: number): Promise<void> {
        if (this.holder === owner) return;
        this.refuseOwnConsumer();
        if (!this.holder) {
            this.holder = owner;
            return;
        }
        await this.wait(timeout, resolve => this.waiters.push({ owner, resolve }), () => {
            this.waiters = this.waiters.filter(v => v.owner !== owner);
        });
    }

    release(owner: object): void {
        if (this.holder !== owner) {
            this.waiters = this.waiters.filter(v => v.owner !== owner);
            return;
        }
        const next = this.waiters.shift();
        this.holder = next?.owner;
        if (next) {
            next.resolve();
            return;
        }
        for (const resolve of this.idleWaiters.splice(0)) resolve();
    }

    /** Resolves once no transaction holds the turn, for a write that is done before the caller awaits anything. */
    async idle(timeout: number): Promise<void> {
        if (!this.holder) return;
        let entry: (() => void) | undefined;
        await this.wait(timeout, resolve => this.idleWaiters.push(entry = resolve), () => {
            this.idleWaiters = this.idleWaiters.filter(v => v !== entry);
        });
        // Another transaction may have taken the turn in the meantime (waiters go first).
        if (this.holder) await this.idle(timeout);
    }

    /**
     * Inside a transactional consumer callback, another transaction on this file
     * (a produce with another session) would wait for the callback's own.
     */
    protected refuseOwnConsumer(): void {
        const current = consumerTransaction.getStore();
        if (current && this.holder === current) {
            throw new QueueOptionError(`Inside consume(..., { database }) on SQLite, write to the queue through the callback's session (produce(data, { session })): SQLite has one writer at a time, the callback's transaction holds '${this.file}', and another transaction would wait for it`);
        }
    }

    protected wait(timeout: number, enqueue: (resolve: () => void) => void, cancel: () => void): Promise<void> {
        return new Promise<void>((resolve, reject) => {
            const timer = setTimeout(() => {
                cancel();
                reject(new QueueStorageBusyError(`SQLite queue storage '${this.file}': a transaction of this process held the write turn longer than the busy timeout (${timeout}ms); nothing was written. Inside an ORM transaction, produce with { session }; keep transactions on the queue's file short.`, 'SQLITE_BUSY'));
            }, timeout);
            enqueue(() => {
                clearTimeout(timer);
                resolve();
            });
        });
    }
}

const gates = new Map<string, SqliteWriteGate>();

/** One gate per database file per process; `file` is the resolved path of an existing file. */
export function sqliteWriteGate(file: string): SqliteWriteGate {
    let gate = gates.get(file);
    if (!gate) gates.set(file, gate = new SqliteWriteGate(file));
    return gate;
}
