/**
 * The subset of `@deepkit/orm` (1.0.19) the queue uses, as structural types:
 * no ORM type appears in our public API, and users without the ORM install
 * nothing. A `Database` satisfies `QueueOrmDatabase`, a `DatabaseSession`
 * `QueueOrmSession`.
 */

/** `DatabaseTransaction`: `connection` is set once the transaction has begun on one. */
export interface OrmTransactionLike {
    connection?: object;
    ended: boolean;
    begin(): Promise<void>;
    commit(): Promise<void>;
    rollback(): Promise<void>;
}

/** `SQLConnectionPool`: `getConnection(transaction)` begins the transaction on the connection it returns. */
export interface OrmConnectionPoolLike {
    getConnection(transaction?: OrmTransactionLike): Promise<object>;
}

/** `DatabaseAdapter`: `getName()` is 'sqlite', 'postgres', 'mysql', 'mongo', ... */
export interface OrmAdapterLike {
    getName(): string;
    createTransaction(session: object): OrmTransactionLike;
    connectionPool?: OrmConnectionPoolLike;
}

/** A `DatabaseSession`. Inside `database.transaction(...)`, or after `useTransaction()`, it has `assignedTransaction`. */
export interface QueueOrmSession {
    adapter: object;
    assignedTransaction?: object;
}

/** A `Database`; `S` is its session type, which `consume(..., { database })` hands to the callback. */
export interface QueueOrmDatabase<S = any> {
    adapter: object;
    transaction<R>(callback: (session: S) => Promise<R>): Promise<R>;
}
