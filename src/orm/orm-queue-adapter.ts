import { parseSqliteQueueAdapterOptions, SqliteQueueAdapter, SqliteQueueAdapterOptions } from '../adapters/sqlite/sqlite-queue-adapter';
import type { PostgresQueueAdapterOptions } from '../adapters/postgres/postgres-queue-adapter';
import { QueueOptionError } from '../errors';
import { QueueStorageAdapter } from '../storage-adapter';
import { QueueTransactionalStorage } from '../storage';
import { describeValue, ormAdapterOf } from './orm-session';
import { QueueOrmDatabase } from './orm-types';

/** Options of `queueAdapterFor()`: those of the adapter it builds, except where the database is. */
export type QueueAdapterForDatabaseOptions =
    & Omit<SqliteQueueAdapterOptions, 'path'>
    & Omit<PostgresQueueAdapterOptions, 'connectionString' | 'pool'>;

const sqliteOptions = ['synchronous', 'busyTimeout', 'cacheSizeMb'];
const postgresOptions = ['schema', 'poolSize', 'connectTimeout', 'queryTimeout'];

/**
 * The queue stored in the application's own `@deepkit/orm` database: a
 * `SqliteQueueAdapter` on the file of its `SQLiteDatabaseAdapter`, or a
 * `PostgresQueueAdapter` on the database of its `PostgresDatabaseAdapter`
 * (with a pool of its own). One database to configure; sessions and the
 * database itself can then be passed to `produce(..., { session })` and
 * `consume(..., { database })`.
 *
 *     const queue = new BrokerQueue(queueAdapterFor(database));
 */
export function queueAdapterFor(database: QueueOrmDatabase, options: QueueAdapterForDatabaseOptions = {}): QueueStorageAdapter & QueueTransactionalStorage {
    const adapter = ormAdapterOf(database, 'database') as ReturnType<typeof ormAdapterOf> & { sqlitePath?: string, options?: Record<string, unknown> };
    const name = adapter.getName();
    if (name === 'sqlite') {
        rejectOptions(options, sqliteOptions, name);
        const queue = new SqliteQueueAdapter({ ...parseSqliteQueueAdapterOptions({ ...options, path: adapter.sqlitePath }) });
        // Now, before the ORM opens its first connection: its connections to the file go through our SQLite.
        void queue.attachDatabase(database);
        return queue;
    }
    if (name === 'postgres') {
        rejectOptions(options, postgresOptions, name);
        const { PostgresQueueAdapter } = require('../adapters/postgres/postgres-queue-adapter') as typeof import('../adapters/postgres/postgres-queue-adapter');
        return new PostgresQueueAdapter({ ...options, connectionString: connectionStringOf(adapter.options ?? {}) });
    }
    throw new QueueOptionError(`queueAdapterFor() stores the queue in a SQLite or PostgreSQL database (@deepkit/sqlite, @deepkit/postgres); this database's adapter is '${name}' (${describeValue(adapter)})`);
}

function rejectOptions(options: object, known: string[], backend: string): void {
    for (const key of Object.keys(options)) {
        if (!known.includes(key)) throw new QueueOptionError(`Unknown option '${key}' for a queue in a ${backend} database; known options: ${known.join(', ')}`);
    }
}

/** A connection string from the `pg` options `@deepkit/postgres` keeps (its own parse of one, or the object it was given). */
function connectionStringOf(options: Record<string, unknown>): string {
    if (typeof options.connectionString === 'string') return options.connectionString;
    const { host, port, database, user, password, ...rest } = options;
    if (typeof host !== 'string' || !host || host.startsWith('/')) {
        throw new QueueOptionError("queueAdapterFor(): the PostgreSQL database's options name no TCP host; create the adapter yourself: new PostgresQueueAdapter({ connectionString })");
    }
    const url = new URL(`postgres://${host}`);
    if (port) url.port = String(port);
    if (typeof database === 'string') url.pathname = '/' + encodeURIComponent(database);
    if (typeof user === 'string') url.username = encodeURIComponent(user);
    if (typeof password === 'string') url.password = encodeURIComponent(password);
    for (const [key, value] of Object.entries(rest)) {
        if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') url.searchParams.set(key, String(value));
        else if (value !== undefined) throw new QueueOptionError(`queueAdapterFor(): the PostgreSQL option '${key}' cannot be carried over; create the adapter yourself: new PostgresQueueAdapter({ connectionString })`);
    }
    return url.toString();
}
