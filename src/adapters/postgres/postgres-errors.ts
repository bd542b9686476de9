import { QueueError, QueueStorageBusyError, QueueStorageDataError, QueueStorageError } from '../../errors';

/** Node socket errors and pg's own messages for a connection that is gone or never came up. */
const socketCodes = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const connectionMessages = /Connection terminated|Connection ended|timeout exceeded when trying to connect|Query read timeout|Client was closed|Client has encountered a connection error|not queryable/i;

function codeOf(error: unknown): string | undefined {
    const code = (error as { code?: unknown } | undefined)?.code;
    return typeof code === 'string' ? code : undefined;
}

/**
 * True when the connection is unusable: the socket failed, the server shut
 * down or is starting (57P0x), or a connection-class SQLSTATE (08xxx).
 */
export function isConnectionError(error: unknown): boolean {
    const code = codeOf(error);
    if (code && (socketCodes.has(code) || code.startsWith('08') || code.startsWith('57P'))) return true;
    return error instanceof Error && connectionMessages.test(error.message);
}

/** Errors after which PostgreSQL rolled the statement back, so running it again is safe. */
export function isRetryableConflict(error: unknown): boolean {
    const code = codeOf(error);
    return code === '40P01' || code === '40001';
}

export interface PostgresErrorContext {
    /** `host:port/database`, never the password. */
    target: string;
    /** The statement may have reached the server: a write's outcome is unknown after a lost connection. */
    sent: boolean;
    write: boolean;
}

/** Maps pg errors to our named errors with advice; driver errors never leave the adapter. */
export function translatePostgresError(error: unknown, context: PostgresErrorContext): QueueError {
    if (error instanceof QueueError) return error;
    const code = codeOf(error);
    const text = error instanceof Error ? error.message : String(error);
    const where = `PostgreSQL queue storage (${context.target})`;
    const options = { cause: error };
    if (isConnectionError(error)) {
        const outcome = !context.sent
            ? 'nothing was written'
            : context.write
                ? 'the write may or may not have been committed (exactlyOnce messages can safely be produced again within their deduplication interval)'
                : 'nothing was changed';
        return new QueueStorageError(`${where} lost or could not open its connection (${text}); ${outcome}. The adapter reconnects on the next call; check that the server is running and reachable.`, code, options);
    }
    switch (code) {
        case '40P01':
        case '40001':
        case '55P03':
            return new QueueStorageBusyError(`${where} hit a lock conflict (${text}); nothing was written. Try again.`, code, options);
        case '57014':
            return new QueueStorageBusyError(`${where} cancelled a statement (${text}); nothing was written. Look for long transactions holding locks, or raise statement_timeout.`, code, options);
        case '53300':
            return new QueueStorageError(`${where} refused a connection: too many clients (${text}). Lower 'poolSize', or raise max_connections, or put fewer processes on the server.`, code, options);
        case '53100':
            return new QueueStorageError(`${where}: the disk is full (${text}); nothing was written. Free disk space on the database server.`, code, options);
        case '28P01':
        case '28000':
            return new QueueStorageError(`${where} rejected the login (${text}). Check the user and password in the connection string.`, code, options);
        case '3D000':
            return new QueueStorageError(`${where}: the database does not exist (${text}). Create it or fix the connection string.`, code, options);
        case '42501':
            return new QueueStorageError(`${where}: permission denied (${text}). The user needs CREATE on the database for the first start (to create the schema), then USAGE and table rights on it.`, code, options);
    }
    // Data exceptions, constraint violations, program limits (a value too large): the statement rolled back.
    if (code && (code.startsWith('22') || code.startsWith('23') || code.startsWith('54'))) {
        return new QueueStorageDataError(`${where} rejected a value (${text}); nothing was written.`, code, options);
    }
    return new QueueStorageError(`${where} failed: ${text}`, code, options);
}
