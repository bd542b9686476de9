import { createHash } from 'crypto';
import { StoredSchedule } from '../../storage';
import { quoteIdentifier } from './postgres-schema';
import { epochMs, PENDING, wakeSql } from './postgres-statements';

/** Epoch ms (a float8 parameter) as a timestamptz. */
const fromMs = (param: string) => `to_timestamp(${param}::float8 / 1000)`;
const columns = (q: string) => `${q}.channel, ${q}.key, ${q}.spec, ${epochMs(`${q}.next_run_at`)} AS next_run_at,
    ${epochMs(`${q}.last_run_at`)} AS last_run_at, ${q}.revision::float8 AS revision, ${epochMs(`${q}.updated_at`)} AS updated_at`;

/**
 * The schedule statements of the PostgreSQL adapter, for one schema (src/schedule holds the
 * logic). One statement each, like the others; times from the database clock, except the tick
 * times, which src/schedule computes from that clock (`clock`, `due`).
 */
export function postgresScheduleStatementTexts(schema: string) {
    const s = quoteIdentifier(schema);
    const q = `${s}.queue_schedules`;
    return {
        clock: `SELECT ${epochMs('now()')} AS now`,

        /**
         * Params: $1 channel, $2 key, $3 spec, $4 timing, $5 payload, $6 max attempts, $7 first run (epoch ms).
         * A changed timing takes the new first run; the same timing keeps the stored one.
         */
        upsertSchedule: `
            INSERT INTO ${q} AS q (channel, key, spec, timing, payload, max_attempts, next_run_at, last_run_at, revision, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, ${fromMs('$7')}, NULL, 1, now())
            ON CONFLICT (channel, key) DO UPDATE SET spec = excluded.spec, timing = excluded.timing, payload = excluded.payload,
                max_attempts = excluded.max_attempts, updated_at = now(), revision = q.revision + 1,
                next_run_at = CASE WHEN q.timing = excluded.timing THEN q.next_run_at ELSE excluded.next_run_at END
            RETURNING ${columns('q')}`,

        /** Params: $1 channel, $2 key. */
        removeSchedule: `DELETE FROM ${q} WHERE channel = $1 AND key = $2`,

        /** Params: $1 channel or null for all. */
        listSchedules: `SELECT ${columns('q')} FROM ${q} q WHERE $1::text IS NULL OR q.channel = $1 ORDER BY q.channel, q.key`,

        /**
         * Params: $1 limit. Always at least one row: `now` and `next_at` (the earliest run not yet
         * due) ride on every row; `channel` is null in the row that carries only them.
         */
        dueSchedules: `
            WITH clock AS (SELECT now() AS now),
            due AS (
                SELECT ${columns('q')} FROM ${q} q, clock WHERE q.next_run_at <= clock.now ORDER BY q.next_run_at LIMIT $1
            ),
            later AS (SELECT min(q.next_run_at) AS at FROM ${q} q, clock WHERE q.next_run_at > clock.now)
            SELECT d.*, ${epochMs('clock.now')} AS now, ${epochMs('later.at')} AS next_at
            FROM clock CROSS JOIN later LEFT JOIN due d ON true`,

        /**
         * Params: $1 channel, $2 key, $3 revision, $4 next run (epoch ms), $5 tick times (epoch ms, oldest first).
         * The compare-and-set of a tick: a racing host's UPDATE waits for this commit, then finds
         * the new revision and changes nothing, so it inserts nothing either. Commits durably: it stores messages.
         */
        fireSchedule: `
            WITH ticks AS (SELECT t.tick, t.n FROM unnest($5::float8[]) WITH ORDINALITY AS t(tick, n)),
            advanced AS (
                UPDATE ${q} SET next_run_at = ${fromMs('$4')}, revision = revision + 1,
                    last_run_at = coalesce((SELECT ${fromMs('max(tick)')} FROM ticks), last_run_at)
                WHERE channel = $1 AND key = $2 AND revision = $3
                RETURNING channel, payload, max_attempts
            ),
            inserted AS (
                INSERT INTO ${s}.queue_messages (channel, state, priority, available_at, produced_at, attempt, max_attempts, payload, scheduled_at)
                SELECT a.channel, ${PENDING}, 0, now(), now(), 0, a.max_attempts, a.payload, ${fromMs('t.tick')}
                FROM advanced a CROSS JOIN ticks t ORDER BY t.n
                RETURNING id, channel
            ),
            woken AS (SELECT count(${wakeSql(schema, 'channel')}) AS n FROM (SELECT DISTINCT channel FROM inserted) c)
            SELECT EXISTS (SELECT 1 FROM advanced) AS won, coalesce((SELECT array_agg(id::text ORDER BY id) FROM inserted), '{}') AS ids
            FROM woken`,
    };
}

export type PostgresScheduleStatementName = keyof ReturnType<typeof postgresScheduleStatementTexts>;

/** Named like the adapter's other statements: the name includes a hash of the text. */
export function postgresScheduleStatements(schema: string): Record<PostgresScheduleStatementName, { name: string, text: string }> {
    const texts = postgresScheduleStatementTexts(schema);
    return Object.fromEntries(Object.entries(texts).map(([key, text]) => {
        const hash = createHash('sha1').update(text).digest('hex').slice(0, 12);
        return [key, { name: `dq_${key}_${hash}`, text }];
    })) as Record<PostgresScheduleStatementName, { name: string, text: string }>;
}

export interface PostgresScheduleRow {
    channel: string;
    key: string;
    spec: string;
    next_run_at: number;
    last_run_at: number | null;
    revision: number;
    updated_at: number;
}

export function storedScheduleFromPostgresRow(row: PostgresScheduleRow): StoredSchedule {
    const schedule: StoredSchedule = {
        channel: row.channel, key: row.key, spec: row.spec, nextRunAt: Math.round(row.next_run_at),
        revision: row.revision, updatedAt: Math.round(row.updated_at),
    };
    if (row.last_run_at !== null) schedule.lastRunAt = Math.round(row.last_run_at);
    return schedule;
}
