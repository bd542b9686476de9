import type BetterSqlite3 from 'better-sqlite3';
import { QueueOptionError } from '../../errors';
import { onTransactionEnd, ormAdapterOf, transactionConnection, transactionOf } from '../../orm/orm-session';
import { OrmTransactionLike } from '../../orm/orm-types';
import { EnqueueRequest, EnqueueResult, MessageId, QueueTransaction, TransactionalSettlement } from '../../storage';
import { translateSqliteError } from './sqlite-errors';
import { assertOurSqlite, assertSameSqliteFile, attachSqliteOrmAdapter, SqliteQueueFile, tuneOrmConnection } from './sqlite-orm-connections';
import { enqueueRows, settleRows, toRowId } from './sqlite-operations';
import { LEASED, prepareSqliteStatementsLazily, SqliteStatements } from './sqlite-statements';
import { SqliteWake } from './sqlite-wake';
import { sqliteWriteGate } from './sqlite-write-gate';

/** What the SQLite adapter lends its transactions. */
export interface SqliteTransactionContext {
    queue: SqliteQueueFile;
    /** The path as configured, for messages. */
    path: string;
    wake: SqliteWake;
}

interface ConnectionStatements {
    s: SqliteStatements;
    holdLease: BetterSqlite3.Statement;
}

// Per ORM connection; the ORM closes most of its connections after one transaction.
const statementsByConnection = new WeakMap<BetterSqlite3.Database, ConnectionStatements>();
const joined = new WeakMap<OrmTransactionLike, SqliteQueueTransaction>();

/** `attachDatabase()` of the SQLite adapter. */
export function attachSqliteDatabase(database: object, context: SqliteTransactionContext): void {
    const adapter = ormAdapterOf(database, 'database');
    assertSameSqliteFile(adapter, context.queue, 'database');
    attachSqliteOrmAdapter(adapter, context.queue);
}

/** `joinTransaction()` of the SQLite adapter. */
export async function joinSqliteTransaction(session: object, context: SqliteTransactionContext): Promise<QueueTransaction> {
    const { adapter, transaction } = transactionOf(session);
    const existing = joined.get(transaction);
    if (existing) return existing;
    assertSameSqliteFile(adapter, context.queue, 'session');
    attachSqliteOrmAdapter(adapter, context.queue);
    const gate = sqliteWriteGate(context.queue.file);
    if (transaction.connection && !gate.holds(transaction)) {
        // Began before the queue attached to its database: take the turn now.
        await gate.acquire(transaction, context.queue.busyTimeout);
        onTransactionEnd(transaction, () => gate.release(transaction));
    }
    const connection = await transactionConnection(adapter, transaction) as { db?: unknown };
    assertOurSqlite(connection.db, context.queue.file);
    const db = connection.db;
    tuneOrmConnection(db, context.queue);
    let statements = statementsByConnection.get(db);
    if (!statements) {
        statements = {
            s: prepareSqliteStatementsLazily(db),
            holdLease: db.prepare(`UPDATE queue_messages SET lease_until = lease_until WHERE id = ? AND state = ${LEASED} AND lease_owner = ?`),
        };
        statementsByConnection.set(db, statements);
    }
    const scope = new SqliteQueueTransaction(db, statements, context);
    joined.set(transaction, scope);
    onTransactionEnd(transaction, committed => {
        if (committed) scope.committed();
    });
    return scope;
}

/** The queue's statements on the ORM transaction's connection; the ORM commits or rolls back. */
export class SqliteQueueTransaction implements QueueTransaction {
    protected wakeChannels = new Set<string>();

    constructor(
        protected readonly db: BetterSqlite3.Database,
        protected readonly statements: ConnectionStatements,
        protected readonly context: SqliteTransactionContext,
    ) {
    }

    async enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
        const results = this.run(() => enqueueRows(this.statements.s, requests, Date.now()));
        requests.forEach((request, i) => {
            if (!results[i].deduplicated) this.wakeChannels.add(request.channel);
        });
        return results;
    }

    /** A write, so it takes the write lock before the callback reads anything (no stale snapshot later). */
    async holdLease(id: MessageId, consumerId: string): Promise<boolean> {
        return this.run(() => this.statements.holdLease.run(toRowId(id), consumerId).changes === 1);
    }

    async settle(settlement: TransactionalSettlement): Promise<boolean> {
        const { lost, wakeChannels } = this.run(() => settleRows(this.statements.s, [settlement], Date.now()));
        for (const channel of wakeChannels) this.wakeChannels.add(channel);
        return !lost.length;
    }

    /** After the ORM's commit: the rows are visible now. */
    committed(): void {
        this.context.wake.notify(this.wakeChannels);
    }

    protected run<R>(operation: () => R): R {
        if (!this.db.open || !this.db.inTransaction) {
            throw new QueueOptionError(`The session's transaction on '${this.context.path}' has ended: produce inside database.transaction(...) or before session.commit()`);
        }
        try {
            return operation();
        } catch (error) {
            throw translateSqliteError(error, this.context.path);
        }
    }
}
