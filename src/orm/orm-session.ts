import { AsyncLocalStorage } from 'async_hooks';
import { QueueOptionError } from '../errors';
import { OrmAdapterLike, OrmTransactionLike } from './orm-types';

/**
 * What the queue does with a `@deepkit/orm` session or database, the same for
 * every database: check its shape, begin its transaction, hear when it ends.
 * Which database it is, and what to run on its connection, is the adapters'
 * business (`src/adapters/<db>/<db>-transaction.ts`).
 */

/** The transaction of the `consume(..., { database })` callback that runs in this async context. */
export const consumerTransaction = new AsyncLocalStorage<OrmTransactionLike>();

/**
 * Inside a transactional consumer callback on a single-writer database, a write of the queue outside the
 * callback's transaction would wait for that very transaction: refused at the call instead.
 */
export function assertOutsideConsumerTransaction(storage: object): void {
    if (!consumerTransaction.getStore() || !(storage as { singleWriter?: boolean }).singleWriter) return;
    throw new QueueOptionError("Inside consume(..., { database }) on SQLite, write to the queue through the callback's session (produce(data, { session })): SQLite has one writer at a time, the callback's transaction holds the file, and a write outside it would wait for it");
}

export function describeValue(value: unknown): string {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? String(value);
    return `an instance of ${value.constructor?.name ?? 'Object'}`;
}

/** The ORM adapter of a `Database` or `DatabaseSession`. */
export function ormAdapterOf(owner: unknown, what: string): OrmAdapterLike {
    const adapter = (owner as { adapter?: Partial<OrmAdapterLike> } | null | undefined)?.adapter;
    if (!adapter || typeof adapter.getName !== 'function' || typeof adapter.createTransaction !== 'function') {
        throw new QueueOptionError(`${what} must be a @deepkit/orm ${what === 'database' ? 'Database' : 'DatabaseSession'}, got ${describeValue(owner)}`);
    }
    return adapter as OrmAdapterLike;
}

/** The session's transaction; a session without one would commit the queue's rows apart from the application's. */
export function transactionOf(session: unknown): { adapter: OrmAdapterLike, transaction: OrmTransactionLike } {
    const adapter = ormAdapterOf(session, 'session');
    const transaction = (session as { assignedTransaction?: OrmTransactionLike }).assignedTransaction;
    if (!transaction || typeof transaction.commit !== 'function') {
        throw new QueueOptionError("Option 'session' needs a session with a transaction: the one of database.transaction(async session => ...), or one after session.useTransaction()");
    }
    if (transaction.ended) throw new QueueOptionError("Option 'session': its transaction has already ended (committed or rolled back)");
    return { adapter, transaction };
}

/** The ORM connection of the transaction; the transaction begins on it now if it has not yet. */
export async function transactionConnection(adapter: OrmAdapterLike, transaction: OrmTransactionLike): Promise<object> {
    if (transaction.connection) return transaction.connection;
    if (!adapter.connectionPool || typeof adapter.connectionPool.getConnection !== 'function') {
        throw new QueueOptionError(`The @deepkit/orm adapter '${adapter.getName()}' has no connection pool the queue can share`);
    }
    return adapter.connectionPool.getConnection(transaction);
}

type EndListener = (committed: boolean) => void;
const endListeners = new WeakMap<OrmTransactionLike, EndListener[]>();

/**
 * Calls `listener` once the transaction has ended: `true` after its commit,
 * `false` after its rollback. `@deepkit/orm` 1.0.19 has no event for that, so
 * this transaction's `commit` and `rollback` are wrapped (this instance only).
 * A commit that fails is followed by the ORM's rollback, which reports it.
 */
export function onTransactionEnd(transaction: OrmTransactionLike, listener: EndListener): void {
    let listeners = endListeners.get(transaction);
    if (listeners) {
        listeners.push(listener);
        return;
    }
    endListeners.set(transaction, listeners = [listener]);
    const list = listeners;
    const end = (committed: boolean) => {
        for (const notify of list.splice(0)) {
            try {
                notify(committed);
            } catch {
                // A listener's failure must not turn a commit into an error: the data is committed.
            }
        }
    };
    const commit = transaction.commit;
    const rollback = transaction.rollback;
    transaction.commit = async function (this: OrmTransactionLike) {
        await commit.call(this);
        end(true);
    };
    transaction.rollback = async function (this: OrmTransactionLike) {
        try {
            await rollback.call(this);
        } finally {
            end(false);
        }
    };
}
