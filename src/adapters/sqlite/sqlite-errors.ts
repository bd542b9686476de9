import { QueueError, QueueStorageBusyError, QueueStorageDataError, QueueStorageError } from '../../errors';

/** Maps better-sqlite3's errors to our named errors with advice; driver errors never leave the adapter. */
export function translateSqliteError(error: unknown, path: string): unknown {
    if (error instanceof QueueError) return error;
    const code = (error as { code?: string } | undefined)?.code;
    if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return error;
    const text = (error as Error).message;
    const where = `SQLite queue storage '${path}'`;
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
        return new QueueStorageBusyError(`${where} stayed locked by another connection longer than the busy timeout (${text}); nothing was written. Raise 'busyTimeout', or look for a process holding a long transaction.`, code, { cause: error });
    }
    if (code.startsWith('SQLITE_FULL')) {
        return new QueueStorageError(`${where}: the disk is full (${text}); nothing was written. Free disk space and try again.`, code, { cause: error });
    }
    if (code === 'SQLITE_NOTADB' || code.startsWith('SQLITE_CORRUPT')) {
        return new QueueStorageError(`${where} is not a valid queue database or is corrupt (${text}). Restore it from a backup or point 'path' to another file; nothing was changed.`, code, { cause: error });
    }
    if (code.startsWith('SQLITE_CONSTRAINT') || code === 'SQLITE_TOOBIG' || code === 'SQLITE_MISMATCH' || code === 'SQLITE_RANGE') {
        return new QueueStorageDataError(`${where} rejected a value (${text}); nothing was written.`, code, { cause: error });
    }
    if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code.startsWith('SQLITE_PERM')) {
        return new QueueStorageError(`${where} cannot be opened for writing (${text}). Check the path and its permissions.`, code, { cause: error });
    }
    return new QueueStorageError(`${where} failed: ${text}`, code, { cause: error });
}
