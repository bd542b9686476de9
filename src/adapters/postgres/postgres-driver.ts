import { QueueStorageError } from '../../errors';

/**
 * The subset of the `pg` driver the adapter uses, as structural types, so no
 * `pg` type appears in our public API and SQLite users need neither `pg` nor
 * `@types/pg`. A `pg.Pool` satisfies `PostgresPoolLike`.
 */
export interface PostgresQueryConfig {
    /** A named statement is parsed once per connection. */
    name?: string;
    text: string;
    values?: unknown[];
    /** Client-side timeout in ms: the call rejects instead of waiting for a dead server. */
    query_timeout?: number;
}

export interface PostgresQueryResult {
    rows: any[];
    rowCount: number | null;
}

export interface PostgresClientLike {
    query(config: PostgresQueryConfig): Promise<PostgresQueryResult>;
    on(event: string, listener: (...args: any[]) => void): unknown;
}

export interface PostgresPoolClientLike extends PostgresClientLike {
    /** `release(error)` destroys the connection instead of returning it to the pool. */
    release(destroy?: boolean | Error): void;
}

export interface PostgresPoolLike {
    connect(): Promise<PostgresPoolClientLike>;
    end(): Promise<void>;
}

export interface PostgresStandaloneClientLike extends PostgresClientLike {
    connect(): Promise<void>;
    end(): Promise<void>;
}

/** The constructor options of `pg.Pool` and `pg.Client` we set. */
export interface PostgresConnectionConfig {
    connectionString: string;
    max?: number;
    connectionTimeoutMillis?: number;
    keepAlive?: boolean;
    /** Idle time before the first TCP keep-alive probe; 0 leaves the OS default (2 hours on Linux). */
    keepAliveInitialDelayMillis?: number;
    application_name?: string;
}

export interface PostgresDriver {
    Pool: new (config: PostgresConnectionConfig) => PostgresPoolLike & { on(event: 'error', listener: (error: Error) => void): unknown };
    Client: new (config: PostgresConnectionConfig) => PostgresStandaloneClientLike;
}

/** Loads `pg` on first use: it is an optional peer dependency. */
export function loadPostgresDriver(): PostgresDriver {
    try {
        return require('pg');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes("'pg'")) {
            throw new QueueStorageError("The PostgreSQL queue adapter needs the 'pg' package, which is not installed: run `npm install pg`.", 'MODULE_NOT_FOUND', { cause: error });
        }
        throw error;
    }
}
