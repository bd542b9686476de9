import type { Database } from 'better-sqlite3';
import { latencyColumns } from '../../latency-buckets';

/** The counters of queue_throughput (per minute) and queue_totals (carried over when minutes are pruned). */
const counterColumns = ['produced INTEGER NOT NULL DEFAULT 0', 'retried INTEGER NOT NULL DEFAULT 0', 'latency_sum REAL NOT NULL DEFAULT 0',
    ...latencyColumns.map(v => `${v} INTEGER NOT NULL DEFAULT 0`)];

/**
 * Numbered, append-only migrations. Each runs in an IMMEDIATE transaction
 * that first checks and records its own number, so several processes opening
 * the same file at once migrate it exactly once.
 *
 * Message states: 0 pending, 1 leased, 2 failed, 3 done.
 */
const migrations: string[] = [
    `
    CREATE TABLE queue_messages (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        channel TEXT NOT NULL,
        state INTEGER NOT NULL,
        priority INTEGER NOT NULL,
        available_at INTEGER NOT NULL,
        produced_at INTEGER NOT NULL,
        attempt INTEGER NOT NULL DEFAULT 0,
        max_attempts INTEGER NOT NULL,
        lease_owner TEXT,
        lease_until INTEGER,
        last_error TEXT,
        settled_at INTEGER,
        remove_at INTEGER,
        payload BLOB NOT NULL
    );
    CREATE INDEX queue_messages_ready ON queue_messages (channel, priority DESC, available_at, id) WHERE state = 0;
    CREATE INDEX queue_messages_next ON queue_messages (channel, available_at) WHERE state = 0;
    CREATE INDEX queue_messages_owner ON queue_messages (lease_owner) WHERE state = 1;
    CREATE INDEX queue_messages_lease_end ON queue_messages (lease_until) WHERE state = 1;
    CREATE INDEX queue_messages_failed ON queue_messages (channel, id) WHERE state = 2;
    CREATE INDEX queue_messages_done ON queue_messages (remove_at) WHERE state = 3;

    CREATE TABLE queue_dedup (
        channel TEXT NOT NULL,
        hash TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        PRIMARY KEY (channel, hash)
    ) WITHOUT ROWID;
    CREATE INDEX queue_dedup_expiry ON queue_dedup (expires_at);

    CREATE TABLE queue_consumers (
        id TEXT PRIMARY KEY,
        channel TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        process_start TEXT,
        registered_at INTEGER NOT NULL,
        seen_at INTEGER NOT NULL
    ) WITHOUT ROWID;

    CREATE TABLE queue_throughput (
        channel TEXT NOT NULL,
        minute INTEGER NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (channel, minute)
    ) WITHOUT ROWID;
    `,
    // started: the callback of the current lease was recorded as started, so losing the lease counts.
    // doubtful: attempts of leases lost before their start was recorded (in `attempt`, not reported to the
    // callback); given back when the message settles, kept towards failing when it is lost again recorded.
    `
    ALTER TABLE queue_messages ADD COLUMN started INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE queue_messages ADD COLUMN doubtful INTEGER NOT NULL DEFAULT 0;
    `,
    // Schedules (src/schedule): revision is the compare-and-set token of a tick; times are epoch ms.
    // scheduled_at: the tick a schedule enqueued a message for.
    `
    ALTER TABLE queue_messages ADD COLUMN scheduled_at INTEGER;
    CREATE TABLE queue_schedules (
        channel TEXT NOT NULL,
        key TEXT NOT NULL,
        spec TEXT NOT NULL,
        timing TEXT NOT NULL,
        payload BLOB NOT NULL,
        max_attempts INTEGER NOT NULL,
        next_run_at INTEGER NOT NULL,
        last_run_at INTEGER,
        revision INTEGER NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (channel, key)
    );
    CREATE INDEX queue_schedules_next ON queue_schedules (next_run_at);
    `,
    // Dashboard and metrics: produced, retried and queue latency (fixed buckets) per minute; cumulative
    // totals that outlive the 24 hours of minutes; string headers (trace context) per message.
    `
    ${counterColumns.map(v => `ALTER TABLE queue_throughput ADD COLUMN ${v};`).join('\n    ')}
    CREATE TABLE queue_totals (
        channel TEXT PRIMARY KEY,
        done INTEGER NOT NULL DEFAULT 0,
        failed INTEGER NOT NULL DEFAULT 0,
        ${counterColumns.join(',\n        ')}
    ) WITHOUT ROWID;
    ALTER TABLE queue_messages ADD COLUMN headers TEXT;
    `,
    // Flow control (src/flow): a row only for a channel with limits or paused. window_start (epoch ms) and
    // window_count: the rate limit's current fixed window.
    `
    CREATE TABLE queue_channels (
        channel TEXT PRIMARY KEY,
        paused INTEGER NOT NULL DEFAULT 0,
        concurrency INTEGER,
        rate_max INTEGER,
        rate_per_ms INTEGER,
        window_start INTEGER,
        window_count INTEGER NOT NULL DEFAULT 0
    ) WITHOUT ROWID;
    `,
];

export function migrateSqlite(db: Database): void {
    db.exec('CREATE TABLE IF NOT EXISTS queue_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)');
    const applied = db.prepare('SELECT 1 FROM queue_migrations WHERE version = ?');
    const record = db.prepare('INSERT INTO queue_migrations (version, applied_at) VALUES (?, ?)');
    migrations.forEach((sql, index) => {
        const version = index + 1;
        if (applied.get(version)) return;
        db.transaction(() => {
            if (applied.get(version)) return;
            record.run(version, Date.now());
            db.exec(sql);
        }).immediate();
    });
}
