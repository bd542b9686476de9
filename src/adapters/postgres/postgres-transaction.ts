import { createHash } from 'crypto';
import { QueueOptionError } from '../../errors';
import { describeValue, onTransactionEnd, ormAdapterOf, transactionConnection, transactionOf } from '../../orm/orm-session';
import { OrmAdapterLike, OrmTransactionLike } from '../../orm/orm-types';
import { EnqueueRequest, EnqueueResult, MessageId, QueueTransaction, TransactionalSettlement } from '../../storage';
import { PostgresClientLike, PostgresQueryConfig, PostgresQueryResult } from './postgres-driver';
import { postgresEnqueueBatch } from './postgres-enqueue';
import { translatePostgresError } from './postgres-errors';
import { quoteIdentifier } from './postgres-schema';
import { asyncCommit, LEASED, postgresStatements, postgresStatementTexts } from './postgres-statements';

/** What the PostgreSQL adapter lends its transactions. */
export interface PostgresTransactionContext {
    schema: string;
    /** `host:port/database` of the queue's own pool, for messages. */
    target: string;
    queryTimeout: number;
    /** The identity (see `identityQuery`) of the database the queue's pool is connected to. */
    ownIdentity(refresh: boolean): Promise<string>;
    /** Wakes this process's consumers of these channels at once. */
    notifyLocal(channels: Iterable<string>): void;
}

type Statement = { name: string, text: string };

/**
 * Which database a connection is on: its name, the oid of the queue's table (null: no queue schema
 * there), and the server (port, start time). Another database, server or schema differs in one of them.
 */
export function identityQuery(schema: string): PostgresQueryConfig {
    const text = `SELECT current_database() || '/' || coalesce(to_regclass($1)::oid::text, 'none') || '/' || coalesce(inet_server_port()::text, 'socket')
        || '/' || (extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint::text AS identity`;
    return { name: `dq_identity_${hash(text)}`, text, values: [`${quoteIdentifier(schema)}.queue_messages`] };
}

/**
 * The statements a consumer's transaction runs. Its settle is the adapter's without `asyncCommit`:
 * it commits with the application's writes, which must be as durable as the application made them.
 */
function transactionStatements(schema: string) {
    const texts = postgresStatementTexts(schema);
    const settle = texts.settle.replace(` CROSS JOIN ${asyncCommit}`, '');
    if (settle.includes('synchronous_commit')) throw new Error('postgres-transaction: the settle statement changed; it must not turn off synchronous_commit in the application transaction');
    const s = quoteIdentifier(schema);
    const holdLease = `SELECT 1 FROM ${s}.queue_messages WHERE id = $1 AND state = ${LEASED} AND lease_owner = $2`;
    return {
        enqueue: postgresStatements(schema).enqueue,
        settle: { name: `dq_tx_settle_${hash(settle)}`, text: settle },
        holdLease: { name: `dq_tx_hold_${hash(holdLease)}`, text: holdLease },
    };
}

const statementsBySchema = new Map<string, ReturnType<typeof transactionStatements>>();
/** Per pg client (the ORM's pooled connections live long): the identity verified on it. */
const verifiedClients = new WeakMap<object, string>();
const joined = new WeakMap<OrmTransactionLike, PostgresQueueTransaction>();

/** `attachDatabase()` of the PostgreSQL adapter: checks the database on a connection of the ORM's pool. */
export async function attachPostgresDatabase(database: object, context: PostgresTransactionContext): Promise<void> {
    const adapter = ormAdapterOf(database, 'database');
    assertPostgresAdapter(adapter, context, 'database');
    const connection = await adapter.connectionPool!.getConnection() as { connection?: PostgresClientLike, release(): void };
    try {
        await assertSameDatabase(clientOf(connection, context), context, 'database');
    } finally {
        connection.release();
    }
}

/** `joinTransaction()` of the PostgreSQL adapter: the statements run on the session's connection. */
export async function joinPostgresTransaction(session: object, context: PostgresTransactionContext): Promise<QueueTransaction> {
    const { adapter, transaction } = transactionOf(session);
    const existing = joined.get(transaction);
    if (existing) return existing;
    assertPostgresAdapter(adapter, context, 'session');
    const client = clientOf(await transactionConnection(adapter, transaction), context);
    await assertSameDatabase(client, context, 'session');
    let statements = statementsBySchema.get(context.schema);
    if (!statements) statementsBySchema.set(context.schema, statements = transactionStatements(context.schema));
    const scope = new PostgresQueueTransaction(client, statements, context);
    joined.set(transaction, scope);
    onTransactionEnd(transaction, committed => {
        if (committed) scope.committed();
    });
    return scope;
}

/** The queue's statements on the ORM transaction's connection; NOTIFY inside them is delivered at its commit. */
export class PostgresQueueTransaction implements QueueTransaction {
    protected wakeChannels = new Set<string>();

    constructor(
        protected readonly client: PostgresClientLike,
        protected readonly statements: ReturnType<typeof transactionStatements>,
        protected readonly context: PostgresTransactionContext,
    ) {
    }

    async enqueue(requests: EnqueueRequest[]): Promise<EnqueueResult[]> {
        const batch = postgresEnqueueBatch(requests);
        const { results, channels } = batch.resolve((await this.run(this.statements.enqueue, batch.values)).rows);
        for (const channel of channels) this.wakeChannels.add(channel);
        return results;
    }

    async holdLease(id: MessageId, consumerId: string): Promise<boolean> {
        return (await this.run(this.statements.holdLease, [id, consumerId])).rows.length === 1;
    }

    /** Waits for a concurrent claimer's row lock and re-checks the owner (READ COMMITTED), so a lost lease is always seen. */
    async settle(settlement: TransactionalSettlement): Promise<boolean> {
        const ms = settlement.kind === 'done' ? settlement.retention : settlement.delay;
        // A reschedule wakes consumers through the statement's NOTIFY, delivered at the commit.
        const result = await this.run(this.statements.settle, [[settlement.id], [settlement.consumerId], [settlement.kind], [ms], [null]]);
        // The statement returns one row, with the ids it found no longer leased to the consumer (null: none).
        const lost: string[] | null = result.rows[0]?.lost ?? null;
        return !lost?.length;
    }

    committed(): void {
        this.context.notifyLocal(this.wakeChannels);
    }

    protected async run(statement: Statement, values: unknown[]): Promise<PostgresQueryResult> {
        try {
            return await this.client.query({ ...statement, values, query_timeout: this.context.queryTimeout });
        } catch (error) {
            // Inside the application's transaction: whatever the error, that transaction cannot commit it.
            throw translatePostgresError(error, { target: this.context.target, sent: false, write: true });
        }
    }
}

function assertPostgresAdapter(adapter: OrmAdapterLike, context: PostgresTransactionContext, what: string): void {
    if (adapter.getName() !== 'postgres' || !adapter.connectionPool) {
        throw new QueueOptionError(`The queue is stored in PostgreSQL (${context.target}, schema '${context.schema}'), but the ${what} belongs to a '${adapter.getName()}' database (${describeValue(adapter)}): the queue joins transactions of its own database only`);
    }
}

function clientOf(connection: object, context: PostgresTransactionContext): PostgresClientLike {
    const client = (connection as { connection?: PostgresClientLike }).connection;
    if (!client || typeof client.query !== 'function') {
        throw new QueueOptionError(`The ORM connection (${describeValue(connection)}) is not a @deepkit/postgres connection; the queue (${context.target}) cannot join it`);
    }
    return client;
}

async function assertSameDatabase(client: PostgresClientLike, context: PostgresTransactionContext, what: string): Promise<void> {
    const own = await context.ownIdentity(false);
    if (verifiedClients.get(client) === own) return;
    let theirs: string;
    try {
        theirs = (await client.query({ ...identityQuery(context.schema), query_timeout: context.queryTimeout })).rows[0].identity;
    } catch (error) {
        throw translatePostgresError(error, { target: context.target, sent: false, write: false });
    }
    // A server restart changes the start time: look at our own side again before refusing.
    if (theirs !== own && theirs !== await context.ownIdentity(true)) {
        const [database, table] = theirs.split('/');
        const detail = table === 'none' ? `database '${database}', which has no queue schema '${context.schema}'` : `database '${database}' of another server or schema`;
        throw new QueueOptionError(`The queue is stored in PostgreSQL (${context.target}, schema '${context.schema}'), but the ${what} is connected to ${detail}: the queue joins transactions of its own database only`);
    }
    verifiedClients.set(client, theirs);
}

function hash(text: string): string {
    return createHash('sha1').update(text).digest('hex').slice(0, 12);
}
