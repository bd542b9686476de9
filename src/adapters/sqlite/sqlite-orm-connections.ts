import type BetterSqlite3 from 'better-sqlite3';
import { existsSync, realpathSync } from 'fs';
import { basename, dirname, join, resolve } from 'path';
import { QueueOptionError } from '../../errors';
import { describeValue, onTransactionEnd } from '../../orm/orm-session';
import { OrmAdapterLike, OrmTransactionLike } from '../../orm/orm-types';
import { sqliteWriteGate } from './sqlite-write-gate';

/**
 * How the queue shares one SQLite file with a `@deepkit/sqlite` ORM database
 * in the same process.
 *
 * - One SQLite library per file. `@deepkit/sqlite` 1.0.19 depends on
 *   better-sqlite3 ^11, we on ^12: npm may install both, each with its own
 *   SQLite. Two SQLite libraries on one file in one process corrupt it: POSIX
 *   locks belong to the process, so when either closes a descriptor of the file
 *   the locks the other holds are gone. `SQLiteConnection.DatabaseConstructor`
 *   is what the ORM opens connections with; for queue files it opens them with
 *   our better-sqlite3 instead, with the queue's busy timeout and durability.
 * - One writer at a time within the process: the ORM database's transactions
 *   take their turn at the file's `SqliteWriteGate` before they get a
 *   connection, and begin IMMEDIATE, so they hold the write lock from the start
 *   and never fail on a snapshot that another process's commit made stale.
 */

export interface SqliteQueueFile {
    /** realpath of the database file. */
    file: string;
    busyTimeout: number;
    synchronous: 'full' | 'normal';
}

interface SqliteConnectionClass {
    DatabaseConstructor: new (path: string, options?: object) => BetterSqlite3.Database;
}

interface SqliteOrmAdapter extends OrmAdapterLike {
    sqlitePath: string;
    connectionPool: OrmAdapterLike['connectionPool'] & { firstConnection?: { db: BetterSqlite3.Database } };
}

const queueFiles = new Map<string, SqliteQueueFile>();
/** Marks our DatabaseConstructor, so that it is installed once however often the queue attaches. */
const queueAware = Symbol('deepkit-broker-queue');
const attached = new WeakMap<object, string>();
const tuned = new WeakSet<object>();

export function ourSqlite(): typeof BetterSqlite3 {
    return require('better-sqlite3');
}

/**
 * The file a path names, as one string however it is written (relative, through symlinks), also
 * before the file exists; undefined for `:memory:` and URIs.
 */
export function sqliteFileOf(path: string): string | undefined {
    if (!path || path === ':memory:' || path.startsWith('file:')) return undefined;
    const full = resolve(path);
    if (existsSync(full)) return realpathSync(full);
    const folder = dirname(full);
    return existsSync(folder) ? join(realpathSync(folder), basename(full)) : full;
}

/**
 * Marks the file as a queue file of this process. ORM connections opened on it
 * from now on go through our better-sqlite3 (when `@deepkit/sqlite` is loaded).
 */
export function registerSqliteQueueFile(file: SqliteQueueFile): void {
    queueFiles.set(file.file, file);
    const loaded = loadedSqliteConnectionClass();
    if (loaded) patchConnectionClass(loaded);
}

/** Applies the queue's busy timeout and, outside a transaction, its durability to an ORM connection of the file. */
export function tuneOrmConnection(db: BetterSqlite3.Database, file: SqliteQueueFile): void {
    if (tuned.has(db)) return;
    db.pragma(`busy_timeout = ${file.busyTimeout}`);
    // SQLite refuses a durability change inside a transaction; the next connection gets it from the constructor.
    if (!db.inTransaction) db.pragma(`synchronous = ${file.synchronous.toUpperCase()}`);
    tuned.add(db);
}

/** The same SQLite library as the queue's, or a clear error: see the top of this file. */
export function assertOurSqlite(db: unknown, file: string): asserts db is BetterSqlite3.Database {
    if (db instanceof ourSqlite()) return;
    throw new QueueOptionError(`The ORM opened the queue's SQLite file '${file}' through another copy of better-sqlite3 than the queue's (${require.resolve('better-sqlite3')}). Two SQLite libraries on one file in one process drop each other's locks and can corrupt it. Create the queue adapter (queueAdapterFor(database), or connect it) before the ORM database opens its first connection, or make npm install one better-sqlite3 (an "overrides" entry).`);
}

/** Checks that the ORM adapter stores its data in the queue's file. */
export function assertSameSqliteFile(adapter: OrmAdapterLike, queue: SqliteQueueFile, what: string): asserts adapter is SqliteOrmAdapter {
    const name = adapter.getName();
    if (name !== 'sqlite' || typeof (adapter as Partial<SqliteOrmAdapter>).sqlitePath !== 'string') {
        throw new QueueOptionError(`The queue is stored in the SQLite file '${queue.file}', but the ${what} belongs to a '${name}' database (${describeValue(adapter)}): the queue joins transactions of its own database only`);
    }
    const path = (adapter as SqliteOrmAdapter).sqlitePath;
    if (sqliteFileOf(path) !== queue.file) {
        throw new QueueOptionError(`The queue is stored in the SQLite file '${queue.file}', but the ${what} belongs to the SQLite database '${path}': the queue joins transactions of its own file only (point SqliteQueueAdapter's 'path' at the ORM's file, or use queueAdapterFor(database))`);
    }
}

/**
 * Prepares an ORM adapter that uses the queue's file (checked before): its
 * connections open through our SQLite, its transactions take turns in this
 * process and begin IMMEDIATE. Idempotent.
 */
export function attachSqliteOrmAdapter(adapter: SqliteOrmAdapter, queue: SqliteQueueFile): void {
    if (attached.get(adapter) === queue.file) return;
    const pool = adapter.connectionPool;
    const first = pool.firstConnection;
    if (first) {
        assertOurSqlite(first.db, queue.file);
        tuneOrmConnection(first.db, queue);
    } else {
        const connectionClass = loadedSqliteConnectionClass(adapter);
        if (connectionClass) patchConnectionClass(connectionClass);
    }
    const gate = sqliteWriteGate(queue.file);
    const getConnection = pool.getConnection;
    pool.getConnection = async function (this: unknown, transaction?: OrmTransactionLike) {
        if (!transaction || transaction.connection || gate.holds(transaction)) return getConnection.call(this, transaction);
        await gate.acquire(transaction, queue.busyTimeout);
        onTransactionEnd(transaction, () => gate.release(transaction));
        try {
            return await getConnection.call(this, transaction);
        } catch (error) {
            gate.release(transaction);
            throw error;
        }
    };
    const createTransaction = adapter.createTransaction;
    adapter.createTransaction = function (this: unknown, session: object) {
        const transaction = createTransaction.call(this, session);
        transaction.begin = async function (this: OrmTransactionLike & { connection?: { run(sql: string): Promise<void> } }) {
            if (this.connection) await this.connection.run('BEGIN IMMEDIATE');
        };
        return transaction;
    };
    attached.set(adapter, queue.file);
}

function patchConnectionClass(connectionClass: SqliteConnectionClass): void {
    const original = connectionClass.DatabaseConstructor;
    if ((original as { [queueAware]?: boolean })[queueAware]) return;
    // A plain function: `new` returns the object it returns, a connection of either library.
    function QueueAwareDatabase(path: string, options?: object) {
        const file = queueFiles.get(sqliteFileOf(path) ?? '');
        if (!file) return new original(path, options);
        const Database = ourSqlite();
        const db = new Database(path, { ...options, timeout: file.busyTimeout });
        db.pragma(`synchronous = ${file.synchronous.toUpperCase()}`);
        tuned.add(db);
        return db;
    }
    Object.defineProperty(QueueAwareDatabase, queueAware, { value: true });
    connectionClass.DatabaseConstructor = QueueAwareDatabase as unknown as SqliteConnectionClass['DatabaseConstructor'];
}

/**
 * `@deepkit/sqlite`'s SQLiteConnection, if the application loaded it (we never load it for
 * the application), and the one `adapter` belongs to when given.
 */
function loadedSqliteConnectionClass(adapter?: object): SqliteConnectionClass | undefined {
    let path: string;
    try {
        path = require.resolve('@deepkit/sqlite');
    } catch {
        return undefined;
    }
    if (!require.cache[path]) return undefined;
    const module = require(path) as { SQLiteConnection?: SqliteConnectionClass, SQLiteDatabaseAdapter?: new (...args: any[]) => object };
    if (!module.SQLiteConnection || typeof module.SQLiteConnection.DatabaseConstructor !== 'function') return undefined;
    if (adapter && !(module.SQLiteDatabaseAdapter && adapter instanceof module.SQLiteDatabaseAdapter)) return undefined;
    return module.SQLiteConnection;
}
