import type { Database, Statement } from 'better-sqlite3';
import { StoredSchedule } from '../../storage';
import { PENDING } from './sqlite-statements';

const columns = 'channel, key, spec, next_run_at, last_run_at, revision, updated_at';

/** The schedule statements of the SQLite adapter (src/schedule holds the logic); `?` parameters in the order the adapter passes them. */
const sql = {
    /** A changed timing takes the new first run; the same timing keeps the stored one. */
    upsert: `INSERT INTO queue_schedules (channel, key, spec, timing, payload, max_attempts, next_run_at, last_run_at, revision, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, NULL, 1, ?)
        ON CONFLICT (channel, key) DO UPDATE SET spec = excluded.spec, timing = excluded.timing, payload = excluded.payload,
            max_attempts = excluded.max_attempts, updated_at = excluded.updated_at, revision = revision + 1,
            next_run_at = CASE WHEN timing = excluded.timing THEN next_run_at ELSE excluded.next_run_at END
        RETURNING ${columns}`,
    remove: 'DELETE FROM queue_schedules WHERE channel = ? AND key = ?',
    listAll: `SELECT ${columns} FROM queue_schedules ORDER BY channel, key`,
    listOne: `SELECT ${columns} FROM queue_schedules WHERE channel = ? ORDER BY key`,
    due: `SELECT ${columns} FROM queue_schedules WHERE next_run_at <= ? ORDER BY next_run_at LIMIT ?`,
    nextAfter: 'SELECT MIN(next_run_at) AS at FROM queue_schedules WHERE next_run_at > ?',
    /** The compare-and-set of a tick: changes one row only while the revision is the one read. */
    advance: `UPDATE queue_schedules SET next_run_at = ?, last_run_at = coalesce(?, last_run_at), revision = revision + 1
        WHERE channel = ? AND key = ? AND revision = ?`,
    /** One message of a tick, with the schedule's payload. */
    insertTick: `INSERT INTO queue_messages (channel, state, priority, available_at, produced_at, attempt, max_attempts, payload, scheduled_at)
        SELECT channel, ${PENDING}, 0, ?, ?, 0, max_attempts, payload, ? FROM queue_schedules WHERE channel = ? AND key = ?`,
};

export type SqliteScheduleStatements = { [K in keyof typeof sql]: Statement };

export interface SqliteScheduleRow {
    channel: string;
    key: string;
    spec: string;
    next_run_at: number;
    last_run_at: number | null;
    revision: number;
    updated_at: number;
}

const prepared = new WeakMap<Database, SqliteScheduleStatements>();

/** Prepared once per connection, on first use: connections that never schedule prepare nothing. */
export function sqliteScheduleStatements(db: Database): SqliteScheduleStatements {
    let statements = prepared.get(db);
    if (!statements) {
        statements = Object.fromEntries(Object.entries(sql).map(([name, text]) => [name, db.prepare(text)])) as SqliteScheduleStatements;
        prepared.set(db, statements);
    }
    return statements;
}

export function storedScheduleFromRow(row: SqliteScheduleRow): StoredSchedule {
    const schedule: StoredSchedule = {
        channel: row.channel, key: row.key, spec: row.spec, nextRunAt: row.next_run_at, revision: row.revision, updatedAt: row.updated_at,
    };
    if (row.last_run_at !== null) schedule.lastRunAt = row.last_run_at;
    return schedule;
}
