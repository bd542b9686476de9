import { createHash } from 'crypto';
import { latencyBucketBounds, latencyColumns } from '../../latency-buckets';
import { packedClaimedMessage } from './postgres-claimed';
import { quoteIdentifier } from './postgres-schema';

/** Message states, as stored. */
export const PENDING = 0, LEASED = 1, FAILED = 2, DONE = 3;

/** `$n` milliseconds as an interval. */
const ms = (param: string) => `(${param}::float8 * interval '1 millisecond')`;
/** A timestamptz as epoch milliseconds: immune to a pool's custom type parsers. */
export const epochMs = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;
const lost = 'lease_owner = NULL, lease_until = NULL';
/**
 * Joined into the bookkeeping statements (claims, acks, retries, renewals, releases, reclaims): their
 * commit does not wait for the WAL flush. A server crash can only lose such a commit from the end of the
 * WAL, which puts the message back to an earlier state so that it is delivered again, never lost; a later
 * durable commit (a produce) flushes it anyway. `is_local`: the setting ends with this statement's
 * transaction, so a pool shared with the application is left as it was.
 */
export const asyncCommit = `(SELECT set_config('synchronous_commit', 'off', true)) AS async_commit`;
/** Columns added up in queue_throughput and queue_totals. */
const counters = ['produced', 'done', 'failed', 'retried', 'latency_sum', ...latencyColumns];
const sumCounters = counters.map(v => `sum(${v})::float8 AS ${v}`).join(', ');
const minuteNow = 'floor(extract(epoch FROM now()) / 60)::bigint';
/** The minute's shard of this session (see the migration of queue_throughput). */
const shard = '(pg_backend_pid() % 8)::smallint';
/** Per bucket of latency_ms (see latency-buckets.ts): how many fall in it. */
const latencyCounts = latencyColumns.map((column, i) => {
    const above = i === 0 ? 'true' : `w > ${latencyBucketBounds[i - 1]}`;
    const below = i === latencyBucketBounds.length ? 'true' : `w <= ${latencyBucketBounds[i]}`;
    return [column, `count(*) FILTER (WHERE ${above} AND ${below})`];
});
/** Session start times are compared as microseconds since the epoch (bigint), exactly. */
const postmasterStart = '(extract(epoch FROM pg_postmaster_start_time()) * 1000000)::bigint';

/**
 * Every SQL statement of the PostgreSQL adapter, for one schema. Each is one
 * statement, so it is atomic without BEGIN/COMMIT round trips; those that
 * store messages commit durably, bookkeeping commits asynchronously (see
 * `asyncCommit`); wake-ups are
 * `pg_notify` calls inside it, delivered only after the commit and at most
 * once per channel per statement, however many messages it touched.
 */
export function postgresStatementTexts(schema: string) {
    const s = quoteIdentifier(schema);
    const m = `${s}.queue_messages`;
    // The NOTIFY channel of a queue channel; `PostgresNotify` LISTENs to the same name.
    const wake = (channel: string) => wakeSql(schema, channel);
    const leasedBy = (owner: string) => `m.state = ${LEASED} AND m.lease_owner = ${owner}`;
    /** Adds to this minute's counters, per channel: `values` names the counters `from` (grouped by channel) computes, the rest add 0. */
    const count = (values: Record<string, string>, from: string) => `
        INSERT INTO ${s}.queue_throughput AS t (channel, minute, shard, ${counters.join(', ')})
        SELECT channel, ${minuteNow}, ${shard}, ${counters.map(v => values[v] ?? '0').join(', ')} ${from}
        ON CONFLICT (channel, minute, shard) DO UPDATE SET ${counters.map(v => `${v} = t.${v} + excluded.${v}`).join(', ')}`;
    const failedMatch = `channel = $1 AND state = ${FAILED} AND ($2::text IS NULL OR id = $3::bigint OR last_error ILIKE $4 ESCAPE '\\' OR position($5::bytea IN payload) > 0)`;
    const outOfAttempts = 'm.started AND m.attempt >= m.max_attempts';

    return {
        /** Params (arrays in request order): $1 channel, $2 priority, $3 delay ms, $4 max attempts, $5 payload, $6 dedup hash or null, $7 dedup interval ms, $8 headers JSON or null. */
        enqueue: `
            WITH input AS (
                SELECT r.*, nextval('${s}.queue_messages_id_seq') AS new_id
                FROM unnest($1::text[], $2::int[], $3::float8[], $4::int[], $5::bytea[], $6::text[], $7::float8[], $8::text[])
                    WITH ORDINALITY AS r(channel, priority, delay, max_attempts, payload, hash, interval_ms, headers, n)
            ),
            -- The unique key makes dedup atomic: a racing producer waits for our commit, then sees our row.
            -- Sorted, so two batches lock their keys in the same order and cannot deadlock.
            dedup AS (
                INSERT INTO ${s}.queue_dedup AS d (channel, hash, message_id, expires_at)
                SELECT channel, hash, new_id, now() + ${ms('interval_ms')} FROM input WHERE hash IS NOT NULL ORDER BY channel, hash
                ON CONFLICT (channel, hash) DO UPDATE SET
                    message_id = CASE WHEN d.expires_at <= now() THEN excluded.message_id ELSE d.message_id END,
                    expires_at = CASE WHEN d.expires_at <= now() THEN excluded.expires_at ELSE d.expires_at END
                RETURNING d.channel, d.hash, d.message_id
            ),
            inserted AS (
                INSERT INTO ${m} (id, channel, state, priority, available_at, produced_at, attempt, max_attempts, payload, headers)
                SELECT i.new_id, i.channel, ${PENDING}, i.priority, now() + ${ms('i.delay')}, now(), 0, i.max_attempts, i.payload, i.headers
                FROM input i LEFT JOIN dedup d ON d.channel = i.channel AND d.hash = i.hash
                WHERE i.hash IS NULL OR d.message_id = i.new_id
                ORDER BY i.n
                RETURNING channel
            ),
            produced AS (${count({ produced: 'count(*)' }, 'FROM inserted GROUP BY channel')}),
            woken AS (SELECT count(${wake('channel')}) AS n FROM (SELECT DISTINCT channel FROM inserted) c)
            SELECT coalesce(d.message_id, i.new_id)::text AS id, coalesce(d.message_id <> i.new_id, false) AS deduplicated
            FROM input i LEFT JOIN dedup d ON d.channel = i.channel AND d.hash = i.hash CROSS JOIN woken
            ORDER BY i.n`,

        /**
         * Params: $1 channel, $2 limit, $3 consumer id, $4 lease ms, $5 in the flow transaction, $6 max bytes. An idle claim is two index probes and writes nothing.
         * Of the first $2 candidates it takes those whose running total of payload sizes stays within $6, and always the first
         * (see QueueStorage.claim); the window runs over the locked candidates, since FOR UPDATE allows no window function.
         * `octet_length()` of a TOASTed value reads its size from the TOAST pointer, not the value.
         * `= ANY (ARRAY(...))`, not a join: a cached generic plan guesses a tenth of the table for `LIMIT $2`
         * and, with statistics of a large backlog, joined the claimed ids to a sequential scan.
         * When it claims fewer than $2 it also answers nextAvailable (`next_ms`, excluding what it claimed),
         * which the consumer asks next: one round trip instead of two. Always one row: `claimed` counts the
         * messages packed into `messages` in delivery order (postgres-claimed.ts reads them; null when none).
         */
        claim: `
            WITH claimed AS (
                UPDATE ${m} m SET state = ${LEASED}, lease_owner = $3, lease_until = now() + ${ms('$4')}, attempt = m.attempt + 1, started = false
                WHERE m.id = ANY (ARRAY(
                    SELECT id FROM (
                        SELECT id, sum(size) OVER w AS total, row_number() OVER w AS n FROM (
                            SELECT id, priority, available_at, octet_length(payload) AS size FROM ${m}
                            WHERE channel = $1 AND state = ${PENDING} AND available_at <= now()
                                -- $5: inside the flow transaction (postgres-flow.ts); otherwise a channel with a flow row claims nothing here.
                                AND ($5::boolean OR NOT EXISTS (SELECT 1 FROM ${s}.queue_channels f WHERE f.channel = $1))
                            ORDER BY priority DESC, available_at, id
                            LIMIT $2
                            FOR UPDATE SKIP LOCKED
                        ) candidates WINDOW w AS (ORDER BY priority DESC, available_at, id)
                    ) sized WHERE n = 1 OR total <= $6::bigint
                ))
                RETURNING m.id, m.channel, m.payload, m.attempt - m.doubtful AS attempt, m.doubtful > 0 AS record_start,
                    m.max_attempts, m.priority, m.produced_at, m.available_at, m.scheduled_at, m.headers
            ),
            -- Queue latency: from availability to this claim.
            latency AS (${count({ latency_sum: 'sum(w)', ...Object.fromEntries(latencyCounts) },
                `FROM (SELECT channel, greatest(0, extract(epoch FROM now() - available_at) * 1000)::float8 AS w FROM claimed) c GROUP BY channel`)}),
            next AS (
                SELECT CASE WHEN (SELECT count(*) FROM claimed) < $2 THEN (${nextAvailableMs(m, 'id <> ALL (ARRAY(SELECT id FROM claimed))')}) END AS next_ms
            )
            SELECT (SELECT count(*) FROM claimed)::int AS claimed,
                (SELECT string_agg(${packedClaimedMessage('c')}, ''::bytea ORDER BY c.priority DESC, c.available_at, c.id) FROM claimed c) AS messages,
                n.next_ms, NOT $5::boolean AND EXISTS (SELECT 1 FROM ${s}.queue_channels f WHERE f.channel = $1) AS flow
            FROM next n CROSS JOIN ${asyncCommit}`,

        // Flow control (src/flow, postgres-flow.ts): a channel's row exists only while it has limits or is paused.
        /** Params: $1 channel. Taken first in the flow transaction: claims of the channel wait here for each other. */
        flowLock: `
            SELECT paused, concurrency, rate_max, rate_per_ms, ${epochMs('window_start')} AS window_start, window_count, ${epochMs('clock_timestamp()')} AS now
            FROM ${s}.queue_channels WHERE channel = $1 FOR UPDATE`,
        /** Params: $1 channel. A statement of its own after flowLock: its snapshot sees the leases of claims that held the lock before. */
        leasedCount: `SELECT count(*)::int AS n FROM ${m} WHERE channel = $1 AND state = ${LEASED}`,
        /** Params: $1 channel, $2 window start (epoch ms), $3 window count. */
        flowWindow: `UPDATE ${s}.queue_channels SET window_start = to_timestamp($2::float8 / 1000), window_count = $3 WHERE channel = $1`,
        /** Params: $1 channel, $2 concurrency, $3 rate max, $4 rate per ms (nulls for none). Returns the limits stored before (no row: none). */
        flowDeclare: `
            WITH before AS (SELECT concurrency, rate_max, rate_per_ms, paused FROM ${s}.queue_channels WHERE channel = $1),
            dropped AS (DELETE FROM ${s}.queue_channels WHERE channel = $1 AND $2::int IS NULL AND $3::int IS NULL AND NOT paused),
            stored AS (
                INSERT INTO ${s}.queue_channels (channel, concurrency, rate_max, rate_per_ms)
                SELECT $1, $2, $3, $4 WHERE $2::int IS NOT NULL OR $3::int IS NOT NULL OR EXISTS (SELECT 1 FROM before WHERE paused)
                ON CONFLICT (channel) DO UPDATE SET concurrency = excluded.concurrency, rate_max = excluded.rate_max, rate_per_ms = excluded.rate_per_ms
            )
            SELECT concurrency, rate_max, rate_per_ms FROM before`,
        /** Params: $1 channel, $2 paused. A resume wakes the channel's consumers everywhere. */
        flowPause: `
            WITH dropped AS (DELETE FROM ${s}.queue_channels WHERE channel = $1 AND NOT $2::boolean AND concurrency IS NULL AND rate_max IS NULL),
            stored AS (
                INSERT INTO ${s}.queue_channels (channel, paused)
                SELECT $1, $2 WHERE $2::boolean OR EXISTS (SELECT 1 FROM ${s}.queue_channels WHERE channel = $1 AND (concurrency IS NOT NULL OR rate_max IS NOT NULL))
                ON CONFLICT (channel) DO UPDATE SET paused = excluded.paused
            )
            SELECT count(${wake('$1::text')}) AS n FROM (SELECT 1 WHERE NOT $2::boolean) c`,
        /** Params: $1 channel or null. */
        pausedChannels: `SELECT channel FROM ${s}.queue_channels WHERE paused AND ($1::text IS NULL OR channel = $1)`,

        /** Params: $1 consumer id, $2 message ids, $3 lease ms. `known` is false when the consumer row is gone. */
        renew: `
            WITH seen AS (UPDATE ${s}.queue_consumers SET seen_at = now() WHERE id = $1 RETURNING 1),
            renewed AS (
                UPDATE ${m} m SET lease_until = now() + ${ms('$3')}
                WHERE m.id = ANY ($2::bigint[]) AND ${leasedBy('$1')}
                RETURNING m.id
            )
            SELECT EXISTS (SELECT 1 FROM seen) AS known, coalesce((SELECT array_agg(id::text) FROM renewed), '{}') AS renewed
            FROM ${asyncCommit}`,

        /**
         * Params (arrays): $1 id, $2 consumer id, $3 kind, $4 ms (delay or retention), $5 error. $2 to $4 may have one
         * element that applies to every id, and $5 none when every error is null: unnest() pads them with nulls.
         * Returns one row: `lost`, the ids that were no longer leased to their consumer (reclaimed), or null
         * when none: not a row per settled message, which pg would turn into objects per message.
         * A 'start' only records that the callback starts; the message stays leased.
         */
        settle: `
            WITH s AS (
                SELECT u.id, coalesce(u.owner, ($2::text[])[1]) AS owner, coalesce(u.kind, ($3::text[])[1]) AS kind,
                    coalesce(u.ms, ($4::float8[])[1]) AS ms, u.error
                FROM unnest($1::bigint[], $2::text[], $3::text[], $4::float8[], $5::text[]) AS u(id, owner, kind, ms, error)
            ),
            removed AS (
                DELETE FROM ${m} m USING s
                WHERE s.kind = 'done' AND s.ms <= 0 AND m.id = s.id AND ${leasedBy('s.owner')}
                RETURNING m.id, m.channel, s.kind
            ),
            started AS (
                UPDATE ${m} m SET started = true FROM s
                WHERE s.kind = 'start' AND m.id = s.id AND ${leasedBy('s.owner')}
                RETURNING m.id, m.channel, s.kind
            ),
            changed AS (
                UPDATE ${m} m SET
                    state = CASE s.kind WHEN 'done' THEN ${DONE} WHEN 'fail' THEN ${FAILED} ELSE ${PENDING} END,
                    available_at = CASE WHEN s.kind IN ('retry', 'reschedule') THEN now() + ${ms('s.ms')} ELSE m.available_at END,
                    -- A reschedule or release is not an attempt. A callback that ran to its end also gives back
                    -- the attempts of earlier leases lost before their start was recorded: not its doing.
                    attempt = m.attempt - CASE s.kind WHEN 'release' THEN 1 WHEN 'reschedule' THEN 1 + m.doubtful ELSE m.doubtful END,
                    doubtful = CASE WHEN s.kind = 'release' THEN m.doubtful ELSE 0 END,
                    last_error = CASE WHEN s.kind IN ('retry', 'fail') THEN s.error ELSE m.last_error END,
                    settled_at = CASE WHEN s.kind IN ('done', 'fail') THEN now() END,
                    remove_at = CASE WHEN s.kind = 'done' THEN now() + ${ms('s.ms')} END,
                    ${lost}
                FROM s
                WHERE s.kind <> 'start' AND NOT (s.kind = 'done' AND s.ms <= 0) AND m.id = s.id AND ${leasedBy('s.owner')}
                RETURNING m.id, m.channel, s.kind
            ),
            settled AS (SELECT * FROM removed UNION ALL SELECT * FROM started UNION ALL SELECT * FROM changed),
            counted AS (${count(
                { done: `count(*) FILTER (WHERE kind = 'done')`, failed: `count(*) FILTER (WHERE kind = 'fail')`, retried: `count(*) FILTER (WHERE kind = 'retry')` },
                `FROM settled WHERE kind IN ('done', 'fail', 'retry') GROUP BY channel`)}),
            -- A lease that ends frees a slot of a channel with a concurrency limit: its consumers claim again.
            woken AS (SELECT count(${wake('channel')}) AS n FROM (SELECT DISTINCT channel FROM settled WHERE kind IN ('retry', 'reschedule', 'release')
                OR (kind <> 'start' AND channel IN (SELECT channel FROM ${s}.queue_channels WHERE concurrency IS NOT NULL))) c)
            SELECT (SELECT array_agg(s.id::text) FROM s WHERE NOT EXISTS (SELECT 1 FROM settled WHERE settled.id = s.id)) AS lost
            FROM woken CROSS JOIN ${asyncCommit}`,

        /** Params: $1 consumer id. Hands its leases back (not counted as attempts) and forgets it. */
        unregister: `
            WITH released AS (
                UPDATE ${m} m SET state = ${PENDING}, attempt = m.attempt - 1, ${lost}
                WHERE ${leasedBy('$1')}
                RETURNING m.channel
            ),
            forgotten AS (DELETE FROM ${s}.queue_consumers WHERE id = $1)
            SELECT count(${wake('channel')}) AS n FROM (SELECT DISTINCT channel FROM released) c CROSS JOIN ${asyncCommit}`,

        /** Params (arrays): $1 id, $2 channel, $3 host, $4 pid; then $5 backend pid, $6 backend start (µs since epoch) of the LISTEN session. */
        registerConsumers: `
            INSERT INTO ${s}.queue_consumers (id, channel, host, pid, backend_pid, backend_start, registered_at, seen_at)
            SELECT c.id, c.channel, c.host, c.pid, $5, $6, now(), now()
            FROM unnest($1::text[], $2::text[], $3::text[], $4::int[]) AS c(id, channel, host, pid)
            ON CONFLICT (id) DO UPDATE SET backend_pid = excluded.backend_pid, backend_start = excluded.backend_start, seen_at = now()`,

        /**
         * Params: $1 consumer ids to spare (this process's, while its LISTEN session reconnects).
         * A consumer is dead when its LISTEN session is no longer in pg_stat_activity (same pid and start: pids are reused).
         * A session from before a server restart says nothing (its host may be reconnecting): such
         * a consumer is registered again by its host, or its leases expire.
         */
        reclaim: `
            WITH dead AS (
                SELECT c.id, c.pid, c.host FROM ${s}.queue_consumers c
                WHERE c.backend_pid IS NOT NULL
                    AND c.id <> ALL ($1::text[])
                    AND c.backend_start >= ${postmasterStart}
                    AND NOT EXISTS (
                        SELECT 1 FROM pg_stat_activity a
                        WHERE a.pid = c.backend_pid
                            -- backend_start is hidden for sessions of other users without pg_read_all_stats.
                            AND (a.backend_start IS NULL OR (extract(epoch FROM a.backend_start) * 1000000)::bigint = c.backend_start)
                    )
                FOR UPDATE OF c SKIP LOCKED
            ),
            forgotten AS (DELETE FROM ${s}.queue_consumers c USING dead WHERE c.id = dead.id),
            abandoned AS (
                SELECT m.id, dead.pid, dead.host FROM ${m} m LEFT JOIN dead ON dead.id = m.lease_owner
                WHERE m.state = ${LEASED} AND (dead.id IS NOT NULL OR m.lease_until <= now())
                FOR UPDATE OF m SKIP LOCKED
            ),
            -- A lost lease counts only when its start was recorded; otherwise its attempt becomes doubtful (see storage.ts).
            reclaimed AS (
                UPDATE ${m} m SET
                    state = CASE WHEN ${outOfAttempts} THEN ${FAILED} ELSE ${PENDING} END,
                    doubtful = CASE WHEN m.started THEN m.doubtful ELSE m.doubtful + 1 END,
                    available_at = now(),
                    last_error = CASE WHEN NOT (${outOfAttempts}) THEN m.last_error
                        WHEN a.pid IS NULL THEN 'Delivery lost: the lease expired before the worker settled it'
                        ELSE 'Delivery lost: worker process ' || a.pid || ' on ' || split_part(a.host, '/', 1) || ' died during the attempt' END,
                    settled_at = CASE WHEN ${outOfAttempts} THEN now() END,
                    ${lost}
                FROM abandoned a WHERE m.id = a.id
                RETURNING m.channel, m.state
            ),
            woken AS (SELECT count(${wake('channel')}) AS n FROM (SELECT DISTINCT channel FROM reclaimed WHERE state = ${PENDING}) c)
            SELECT (SELECT count(*) FROM reclaimed)::int AS reclaimed FROM woken CROSS JOIN ${asyncCommit}`,

        /**
         * Params: $1 channel. Null when nothing is pending; negative when something is available now.
         * Not clamped with greatest(): it ignores a NULL, so "nothing pending" became 0 and an idle consumer polled every millisecond.
         */
        nextAvailable: `SELECT (${nextAvailableMs(m, 'true')}) AS ms`,

        /** Also forgets consumers from before a server restart that did not come back within an hour. */
        prune: `
            WITH dedup AS (DELETE FROM ${s}.queue_dedup WHERE expires_at <= now()),
            consumers AS (DELETE FROM ${s}.queue_consumers WHERE backend_start < ${postmasterStart} AND seen_at < now() - interval '1 hour'),
            done AS (DELETE FROM ${m} WHERE state = ${DONE} AND remove_at <= now()),
            moved AS (DELETE FROM ${s}.queue_throughput WHERE minute < ${minuteNow} - 24 * 60 RETURNING *),
            -- What leaves the minutes goes into the totals, in the same statement: they never go back.
            carried AS (
                INSERT INTO ${s}.queue_totals AS t (channel, ${counters.join(', ')})
                SELECT channel, ${counters.map(v => `sum(${v})`).join(', ')} FROM moved GROUP BY channel
                ON CONFLICT (channel) DO UPDATE SET ${counters.map(v => `${v} = t.${v} + excluded.${v}`).join(', ')}
            )
            SELECT 1`,

        /** Params: $1 channel or null for all. */
        statsCounts: `
            SELECT channel,
                count(*) FILTER (WHERE state = ${PENDING} AND available_at <= now())::int AS pending,
                count(*) FILTER (WHERE state = ${PENDING} AND available_at > now())::int AS delayed,
                count(*) FILTER (WHERE state = ${LEASED})::int AS in_flight,
                count(*) FILTER (WHERE state = ${FAILED})::int AS failed
            FROM ${m} WHERE $1::text IS NULL OR channel = $1 GROUP BY channel`,

        /** Params: $1 channel or null for all. The rate spans the previous full minute and the current partial one. */
        statsThroughput: `
            WITH clock AS (SELECT extract(epoch FROM now())::float8 AS epoch, floor(extract(epoch FROM now()) / 60)::bigint AS minute)
            SELECT t.channel, sum(t.done)::int AS done_last_hour,
                (coalesce(sum(t.done) FILTER (WHERE t.minute >= clock.minute - 1), 0) / (60 + clock.epoch - clock.minute * 60))::float8 AS rate
            FROM ${s}.queue_throughput t CROSS JOIN clock
            WHERE t.minute >= clock.minute - 59 AND ($1::text IS NULL OR t.channel = $1)
            GROUP BY t.channel, clock.epoch, clock.minute`,

        /** Params: $1 channel, $2 limit, $3 offset. */
        listFailed: `
            SELECT id::text, channel, attempt, max_attempts, last_error, payload,
                ${epochMs('produced_at')} AS produced_at, ${epochMs('settled_at')} AS settled_at
            FROM ${m} WHERE channel = $1 AND state = ${FAILED} ORDER BY id LIMIT $2 OFFSET $3`,

        /** Params: $1 channel, $2 ids or null for all failed of the channel. */
        retryFailed: `
            WITH retried AS (
                UPDATE ${m} SET state = ${PENDING}, attempt = 0, doubtful = 0, available_at = now(), settled_at = NULL
                WHERE channel = $1 AND state = ${FAILED} AND ($2::bigint[] IS NULL OR id = ANY ($2::bigint[]))
                RETURNING channel
            ),
            counted AS (${count({ retried: 'count(*)' }, 'FROM retried GROUP BY channel')})
            SELECT (SELECT count(*) FROM retried)::int AS n, (SELECT count(${wake('$1')}) FROM (SELECT 1 FROM retried LIMIT 1) c) AS woken`,

        /** Params: $1 channel, $2 'failed' or 'all'. Purging all also forgets the channel's dedup records. */
        purge: `
            WITH dedup AS (DELETE FROM ${s}.queue_dedup WHERE channel = $1 AND $2 = 'all'),
            removed AS (DELETE FROM ${m} WHERE channel = $1 AND ($2 = 'all' OR state = ${FAILED}) RETURNING 1)
            SELECT count(*)::int AS n FROM removed`,

        /**
         * Params: $1 channel, $2 id, $3 error, $4 the watch name of the channel's cancels. Locks the row first: a claim or settlement committed meanwhile
         * is what the state read here sees, so a message being claimed is cancelled, not 'not found'.
         */
        cancel: `
            WITH target AS (SELECT id, state FROM ${m} WHERE channel = $1 AND id = $2::bigint AND state IN (${PENDING}, ${LEASED}) FOR UPDATE),
            removed AS (DELETE FROM ${m} m USING target t WHERE m.id = t.id AND t.state = ${PENDING} RETURNING m.id),
            cancelled AS (
                UPDATE ${m} m SET state = ${FAILED}, last_error = $3, settled_at = now(), attempt = m.attempt - m.doubtful, doubtful = 0, ${lost}
                FROM target t WHERE m.id = t.id AND t.state = ${LEASED}
                RETURNING m.channel
            ),
            counted AS (${count({ failed: 'count(*)' }, 'FROM cancelled GROUP BY channel')}),
            woken AS (SELECT count(${wake('$4')}) AS n FROM (SELECT 1 FROM cancelled LIMIT 1) c)
            SELECT CASE WHEN EXISTS (SELECT 1 FROM removed) THEN 'removed' WHEN EXISTS (SELECT 1 FROM cancelled) THEN 'cancelled' ELSE 'not found' END AS result
            FROM woken`,

        /** Params: $1 channel, $2 search text or null, $3 search as an id or null, $4 ILIKE pattern, $5 search as UTF-8 bytes. */
        searchFailedCount: `SELECT count(*)::int AS n FROM ${m} WHERE ${failedMatch}`,

        /** Params: as searchFailedCount, then $6 limit, $7 offset. */
        searchFailed: `
            SELECT id::text, channel, attempt, max_attempts, last_error, payload,
                ${epochMs('produced_at')} AS produced_at, ${epochMs('settled_at')} AS settled_at
            FROM ${m} WHERE ${failedMatch} ORDER BY id LIMIT $6 OFFSET $7`,

        /** Params: $1 id. */
        getMessage: `
            SELECT id::text, channel, state, attempt, max_attempts, priority, ${epochMs('produced_at')} AS produced_at,
                ${epochMs('available_at')} AS available_at, ${epochMs('settled_at')} AS settled_at, last_error, lease_owner,
                payload, headers, ${epochMs('now()')} AS now
            FROM ${m} WHERE id = $1`,

        /** Params: $1 ms back from now, $2 channel or null for all. Shards of a minute are added up. */
        history: `
            SELECT channel, minute, ${sumCounters} FROM ${s}.queue_throughput
            WHERE minute >= floor((extract(epoch FROM now()) * 1000 - $1::float8) / 60000)::bigint AND ($2::text IS NULL OR channel = $2)
            GROUP BY channel, minute ORDER BY minute, channel`,

        /** One statement, one snapshot: a prune moving minutes into the totals meanwhile neither doubles nor loses them. */
        totals: `
            SELECT channel, ${sumCounters} FROM (
                SELECT channel, ${counters.join(', ')} FROM ${s}.queue_totals
                UNION ALL SELECT channel, ${counters.join(', ')} FROM ${s}.queue_throughput
            ) c GROUP BY channel ORDER BY channel`,

        consumers: `
            SELECT c.id, c.channel, c.host, c.pid, ${epochMs('c.registered_at')} AS registered_at,
                (SELECT count(*) FROM ${m} m WHERE ${leasedBy('c.id')})::int AS in_flight
            FROM ${s}.queue_consumers c ORDER BY c.channel, c.registered_at, c.id`,
    };
}

export type PostgresStatementName = keyof ReturnType<typeof postgresStatementTexts>;
export type PostgresStatements = Record<PostgresStatementName, { name: string, text: string }>;

/** Named statements: each connection parses one once. The name includes a hash of the text, as pg requires one text per name. */
export function postgresStatements(schema: string): PostgresStatements {
    const texts = postgresStatementTexts(schema);
    return Object.fromEntries(Object.entries(texts).map(([key, text]) => {
        const hash = createHash('sha1').update(text).digest('hex').slice(0, 12);
        return [key, { name: `dq_${key}_${hash}`, text }];
    })) as PostgresStatements;
}

/**
 * Milliseconds from now to the earliest availability of a pending message of channel $1 (null when
 * none; negative when one is available now), among rows matching `also`. One probe of
 * queue_messages_ready per distinct priority: the index is ordered by priority first.
 */
function nextAvailableMs(m: string, also: string): string {
    return `
        WITH RECURSIVE first AS (
            (SELECT priority, available_at FROM ${m}
                WHERE channel = $1 AND state = ${PENDING} AND ${also} ORDER BY priority DESC, available_at, id LIMIT 1)
            UNION ALL
            SELECT n.priority, n.available_at FROM first f CROSS JOIN LATERAL (
                SELECT priority, available_at FROM ${m}
                WHERE channel = $1 AND state = ${PENDING} AND ${also} AND priority < f.priority ORDER BY priority DESC, available_at, id LIMIT 1
            ) n
        )
        SELECT (extract(epoch FROM min(available_at) - now()) * 1000)::float8 FROM first`;
}

/** `pg_notify` on the NOTIFY name of a queue channel (an SQL expression); `PostgresNotify` LISTENs to the same name. */
export function wakeSql(schema: string, channel: string): string {
    return `pg_notify('dq_' || md5(${literal(schema + '.')} || ${channel}), '')`;
}

function literal(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}
