import type { QueueStorage } from '../../src';

/**
 * Where a storage's database is, so a second connection (in this process or in
 * a child process, see tests/fixtures/storage-claimer.ts) can open the same one.
 */
export type StorageLocation =
    | { kind: 'sqlite', path: string }
    | { kind: 'postgres', connectionString: string, schema: string };

/** A new storage instance with its own connection to the location's database; not yet connected. */
export function openStorage(location: StorageLocation): QueueStorage {
    const { PostgresQueueAdapter, SqliteQueueAdapter } = require('../../src') as typeof import('../../src');
    return location.kind === 'sqlite'
        ? new SqliteQueueAdapter({ path: location.path })
        : new PostgresQueueAdapter({ connectionString: location.connectionString, schema: location.schema });
}

/** Rows of one of the queue's tables, counted by a raw query on a connection of its own (not through the adapter). */
export async function countRows(location: StorageLocation, table: 'queue_dedup' | 'queue_messages'): Promise<number> {
    if (location.kind === 'sqlite') {
        const Database = require('better-sqlite3') as typeof import('better-sqlite3');
        const db = new Database(location.path, { readonly: true, fileMustExist: true });
        try {
            return (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
        } finally {
            db.close();
        }
    }
    const { Client } = require('pg') as typeof import('pg');
    const client = new Client({ connectionString: location.connectionString });
    await client.connect();
    try {
        return Number((await client.query(`SELECT count(*) AS n FROM "${location.schema}".${table}`)).rows[0].n);
    } finally {
        await client.end();
    }
}
