import type { Database, Statement } from 'better-sqlite3';
import { latencyColumns } from '../../latency-buckets';

/** Message states, as stored. */
export const PENDING = 0, LEASED = 1, FAILED = 2, DONE = 3;

const lost = 'lease_owner = NULL, lease_until = NULL';
const leasedBy = `id = ? AND state = ${LEASED} AND lease_owner = ?`;
/** Columns added up in queue_throughput and queue_totals. */
const counters = ['produced', 'done', 'failed', 'retried', 'latency_sum', ...latencyColumns];
const addCounters = counters.map(v => `${v} = ${v} + excluded.${v}`).join(', ');
const sumCounters = counters.map(v => `SUM(${v}) AS ${v}`).join(', ');
const failedMatch = `channel = ? AND state = ${FAILED} AND (id = ? OR last_error LIKE ? ESCAPE '\\' OR instr(payload, ?) > 0)`;
/** A lost lease counts only when its start was recorded; otherwise its attempt becomes doubtful (see storage.ts). */
const outOfAttempts = 'started AND attempt >= max_attempts';
const reclaimSet = `state = CASE WHEN ${outOfAttempts} THEN ${FAILED} ELSE ${PENDING} END,
    doubtful = doubtful + 1 - started,
    available_at = ?, last_error = CASE WHEN ${outOfAttempts} THEN ? ELSE last_error END,
    settled_at = CASE WHEN ${outOfAttempts} THEN ? ELSE NULL END, ${lost}`;
/** The callback ran to its end: earlier unrecorded losses were not its doing (see storage.ts). */
const clearDoubt = 'attempt = attempt - doubtful, doubtful = 0';

/** Every SQL statement of the SQLite adapter; `?` parameters in the order the adapter passes them. */
const sql = {
    insert: `INSERT INTO queue_messages (channel, state, priority, available_at, produced_at, attempt, max_attempts, payload, headers) VALUES (?, ${PENDING}, ?, ?, ?, 0, ?, ?, ?)`,
    dedupGet: 'SELECT message_id, expires_at FROM queue_dedup WHERE channel = ? AND hash = ?',
    dedupPut: 'INSERT OR REPLACE INTO queue_dedup (channel, hash, message_id, expires_at) VALUES (?, ?, ?, ?)',
    anyReady: `SELECT 1 FROM queue_messages WHERE channel = ? AND state = ${PENDING} AND available_at <= ? LIMIT 1`,
    /**
     * Params: consumer id, lease until, channel, now, limit, max bytes. Of the first `limit` candidates it takes those whose
     * running total of payload sizes stays within max bytes, and always the first (see QueueStorage.claim).
     * The candidates select only columns of the ready index: with `payload` among them the planner took the
     * availability index and sorted the whole backlog (60 times slower at 100k pending). The sizes come after,
     * by rowid; `length()` of a blob reads its size from the record header, not the blob.
     */
    claim: `UPDATE queue_messages SET state = ${LEASED}, lease_owner = ?, lease_until = ?, attempt = attempt + 1, started = 0
        WHERE id IN (SELECT id FROM (
            SELECT c.id, SUM(length(m.payload)) OVER w AS total, ROW_NUMBER() OVER w AS n FROM (
                SELECT id, priority, available_at FROM queue_messages
                WHERE channel = ? AND state = ${PENDING} AND available_at <= ? ORDER BY priority DESC, available_at, id LIMIT ?
            ) c JOIN queue_messages m ON m.id = c.id WINDOW w AS (ORDER BY c.priority DESC, c.available_at, c.id)
        ) WHERE n = 1 OR total <= ?)
        RETURNING CAST(id AS TEXT) AS id, id AS seq, channel, payload, attempt - doubtful AS attempt, doubtful > 0 AS record_start,
            max_attempts, priority, produced_at, available_at, scheduled_at, headers`,
    // Flow control (src/flow): a channel's row exists only while it has limits or is paused.
    flowGet: 'SELECT paused, concurrency, rate_max, rate_per_ms, window_start, window_count FROM queue_channels WHERE channel = ?',
    leasedCount: `SELECT COUNT(*) AS n FROM queue_messages WHERE channel = ? AND state = ${LEASED}`,
    flowWindow: 'UPDATE queue_channels SET window_start = ?, window_count = ? WHERE channel = ?',
    /** Params: channel, concurrency, rate max, rate per ms (nulls for none). Keeps paused and the window. */
    flowDeclare: `INSERT INTO queue_channels (channel, concurrency, rate_max, rate_per_ms) VALUES (?, ?, ?, ?)
        ON CONFLICT (channel) DO UPDATE SET concurrency = excluded.concurrency, rate_max = excluded.rate_max, rate_per_ms = excluded.rate_per_ms`,
    flowPause: 'INSERT INTO queue_channels (channel, paused) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET paused = excluded.paused',
    /** A row without limits and not paused goes, so that the channel's claims take the fast path again. */
    flowDropIdle: 'DELETE FROM queue_channels WHERE channel = ? AND paused = 0 AND concurrency IS NULL AND rate_max IS NULL',
    pausedChannels: 'SELECT channel FROM queue_channels WHERE paused = 1',
    renew: `UPDATE queue_messages SET lease_until = ? WHERE ${leasedBy}`,
    start: `UPDATE queue_messages SET started = 1 WHERE ${leasedBy} RETURNING channel`,
    deleteLeased: `DELETE FROM queue_messages WHERE ${leasedBy} RETURNING channel`,
    markDone: `UPDATE queue_messages SET state = ${DONE}, settled_at = ?, remove_at = ?, ${clearDoubt}, ${lost} WHERE ${leasedBy} RETURNING channel`,
    retry: `UPDATE queue_messages SET state = ${PENDING}, available_at = ?, last_error = ?, ${clearDoubt}, ${lost} WHERE ${leasedBy} RETURNING channel`,
    fail: `UPDATE queue_messages SET state = ${FAILED}, last_error = ?, settled_at = ?, ${clearDoubt}, ${lost} WHERE ${leasedBy} RETURNING channel`,
    reschedule: `UPDATE queue_messages SET state = ${PENDING}, available_at = ?, attempt = attempt - 1 - doubtful, doubtful = 0, ${lost} WHERE ${leasedBy} RETURNING channel`,
    release: `UPDATE queue_messages SET state = ${PENDING}, attempt = attempt - 1, ${lost} WHERE ${leasedBy} RETURNING channel`,
    releaseOwner: `UPDATE queue_messages SET state = ${PENDING}, attempt = attempt - 1, ${lost} WHERE state = ${LEASED} AND lease_owner = ? RETURNING channel`,
    reclaimOwner: `UPDATE queue_messages SET ${reclaimSet} WHERE state = ${LEASED} AND lease_owner = ? RETURNING channel`,
    anyExpired: `SELECT 1 FROM queue_messages WHERE state = ${LEASED} AND lease_until <= ? LIMIT 1`,
    reclaimExpired: `UPDATE queue_messages SET ${reclaimSet} WHERE state = ${LEASED} AND lease_until <= ? RETURNING channel`,
    /** Params: channel, minute, then every counter column in `counters` order. */
    throughput: `INSERT INTO queue_throughput (channel, minute, ${counters.join(', ')}) VALUES (?, ?, ${counters.map(() => '?').join(', ')})
        ON CONFLICT (channel, minute) DO UPDATE SET ${addCounters}`,
    consumerPut: 'INSERT OR REPLACE INTO queue_consumers (id, channel, host, pid, process_start, registered_at, seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    consumerSeen: 'UPDATE queue_consumers SET seen_at = ? WHERE id = ?',
    consumerDelete: 'DELETE FROM queue_consumers WHERE id = ?',
    consumersOfHost: 'SELECT id, pid, process_start FROM queue_consumers WHERE host = ?',
    /** Consumers of other host identities (another container, before a reboot) cannot be checked by pid here. */
    pruneConsumers: `DELETE FROM queue_consumers WHERE host <> ? AND seen_at < ?
        AND NOT EXISTS (SELECT 1 FROM queue_messages m WHERE m.state = ${LEASED} AND m.lease_owner = queue_consumers.id)`,
    nextAvailable: `SELECT MIN(available_at) AS at FROM queue_messages WHERE channel = ? AND state = ${PENDING}`,
    pruneDedup: 'DELETE FROM queue_dedup WHERE expires_at <= ?',
    pruneDone: `DELETE FROM queue_messages WHERE state = ${DONE} AND remove_at <= ?`,
    /** Before pruneThroughput, with the same minute: what it deletes goes into the totals. */
    carryTotals: `INSERT INTO queue_totals (channel, ${counters.join(', ')}) SELECT channel, ${sumCounters} FROM queue_throughput WHERE minute < ? GROUP BY channel
        ON CONFLICT (channel) DO UPDATE SET ${addCounters}`,
    pruneThroughput: 'DELETE FROM queue_throughput WHERE minute < ?',
    statsAll: `SELECT channel, SUM(state = ${PENDING} AND available_at <= ?) AS pending, SUM(state = ${PENDING} AND available_at > ?) AS delayed,
        SUM(state = ${LEASED}) AS in_flight, SUM(state = ${FAILED}) AS failed FROM queue_messages GROUP BY channel`,
    statsOne: `SELECT channel, SUM(state = ${PENDING} AND available_at <= ?) AS pending, SUM(state = ${PENDING} AND available_at > ?) AS delayed,
        SUM(state = ${LEASED}) AS in_flight, SUM(state = ${FAILED}) AS failed FROM queue_messages WHERE channel = ? GROUP BY channel`,
    throughputAll: 'SELECT channel, minute, done FROM queue_throughput WHERE minute >= ?',
    throughputOne: 'SELECT channel, minute, done FROM queue_throughput WHERE minute >= ? AND channel = ?',
    listFailed: `SELECT id, channel, attempt, max_attempts, last_error, produced_at, settled_at, payload FROM queue_messages WHERE channel = ? AND state = ${FAILED} ORDER BY id LIMIT ? OFFSET ?`,
    retryFailed: `UPDATE queue_messages SET state = ${PENDING}, attempt = 0, doubtful = 0, available_at = ?, settled_at = NULL WHERE channel = ? AND id = ? AND state = ${FAILED}`,
    retryAllFailed: `UPDATE queue_messages SET state = ${PENDING}, attempt = 0, doubtful = 0, available_at = ?, settled_at = NULL WHERE channel = ? AND state = ${FAILED}`,
    purgeFailed: `DELETE FROM queue_messages WHERE channel = ? AND state = ${FAILED}`,
    purgeAll: 'DELETE FROM queue_messages WHERE channel = ?',
    purgeDedup: 'DELETE FROM queue_dedup WHERE channel = ?',
    /** Params: channel, id. Pending or delayed: gone. */
    cancelPending: `DELETE FROM queue_messages WHERE channel = ? AND id = ? AND state = ${PENDING}`,
    /** Params: error, settled_at, channel, id. Leased: failed at once, so its consumer's settlement and renewal find it gone. */
    cancelLeased: `UPDATE queue_messages SET state = ${FAILED}, last_error = ?, settled_at = ?, ${clearDoubt}, ${lost} WHERE channel = ? AND id = ? AND state = ${LEASED}`,
    countFailed: `SELECT COUNT(*) AS n FROM queue_messages WHERE channel = ? AND state = ${FAILED}`,
    /** Params: channel, id (or -1), LIKE pattern, payload bytes; then limit, offset. */
    searchFailed: `SELECT id, channel, attempt, max_attempts, last_error, produced_at, settled_at, payload FROM queue_messages WHERE ${failedMatch} ORDER BY id LIMIT ? OFFSET ?`,
    searchFailedCount: `SELECT COUNT(*) AS n FROM queue_messages WHERE ${failedMatch}`,
    getMessage: `SELECT id, channel, state, attempt, max_attempts, priority, produced_at, available_at, settled_at, last_error, lease_owner, payload, headers, ? AS now
        FROM queue_messages WHERE id = ?`,
    historyAll: `SELECT channel, minute, ${counters.join(', ')} FROM queue_throughput WHERE minute >= ? ORDER BY minute, channel`,
    historyOne: `SELECT channel, minute, ${counters.join(', ')} FROM queue_throughput WHERE minute >= ? AND channel = ? ORDER BY minute`,
    /** One statement, one snapshot: a prune moving minutes into the totals meanwhile neither doubles nor loses them. */
    totals: `SELECT channel, ${sumCounters} FROM (
        SELECT channel, ${counters.join(', ')} FROM queue_totals UNION ALL SELECT channel, ${counters.join(', ')} FROM queue_throughput
    ) GROUP BY channel ORDER BY channel`,
    consumers: `SELECT c.id, c.channel, c.host, c.pid, c.registered_at,
        (SELECT COUNT(*) FROM queue_messages m WHERE m.state = ${LEASED} AND m.lease_owner = c.id) AS in_flight
        FROM queue_consumers c ORDER BY c.channel, c.registered_at, c.id`,
};

/** The counter columns of queue_throughput, in the order the `throughput` statement takes them after channel and minute. */
export const sqliteCounterColumns = counters;

export type SqliteStatements = { [K in keyof typeof sql]: Statement };

/** Prepares every statement once per connection. */
export function prepareSqliteStatements(db: Database): SqliteStatements {
    return Object.fromEntries(Object.entries(sql).map(([name, text]) => [name, db.prepare(text)])) as SqliteStatements;
}

/**
 * Prepares each statement on first use: for connections that run a few of them
 * only (an ORM connection the application's transaction uses, see sqlite-transaction.ts).
 */
export function prepareSqliteStatementsLazily(db: Database): SqliteStatements {
    const statements = {} as SqliteStatements;
    for (const [name, text] of Object.entries(sql)) {
        Object.defineProperty(statements, name, {
            get() {
                const statement = db.prepare(text);
                Object.defineProperty(statements, name, { value: statement });
                return statement;
            },
            configurable: true,
        });
    }
    return statements;
}
