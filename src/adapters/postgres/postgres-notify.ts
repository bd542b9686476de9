import { PostgresClientLike } from './postgres-driver';

/** The LISTEN session as seen by other hosts: the consumers' liveness token. */
export interface BackendIdentity {
    pid: number;
    /** Microseconds since the epoch, as text (a bigint). */
    start: string;
}

export interface ListenConnection {
    client: PostgresClientLike;
    /** Ends the session; `broken` when it failed (a pooled connection is then destroyed, not reused). */
    close(broken: boolean): Promise<void>;
}

const reconnectDelays = [100, 250, 500, 1000, 2000];
/**
 * How often the LISTEN session is asked `SELECT 1`. A session that only listens sends nothing, so a
 * connection dropped without a reset (a NAT or firewall forgetting it, a frozen peer) would go unnoticed
 * for as long as TCP keep-alive takes (hours by default), and with it every wake-up.
 */
export const listenCheckIntervalMs = 5000;
/** The longest a check may take, unless `queryTimeout` is shorter. */
const listenCheckTimeoutMs = 10_000;

/**
 * One dedicated LISTEN session per adapter. Statements that make messages
 * available call `pg_notify` on the channel's name (see postgres-statements),
 * which is delivered after their commit; this class maps it back to the
 * queue channel's listeners. A lost session reconnects with backoff, LISTENs
 * again, wakes every listener once (a notification may have been missed) and
 * reports its new identity so consumers can be registered with it.
 */
export class PostgresNotify {
    protected listeners = new Map<string, Set<() => void>>();
    /** NOTIFY channel name to queue channel, for the names LISTENed on the current session. */
    protected names = new Map<string, string>();
    protected connection?: ListenConnection;
    protected connecting?: Promise<BackendIdentity>;
    protected identity?: BackendIdentity;
    protected retryTimer?: NodeJS.Timeout;
    protected failures = 0;
    protected sessions = 0;
    protected closed = false;
    protected checkTimer?: NodeJS.Timeout;

    constructor(
        protected readonly open: () => Promise<ListenConnection>,
        /** The prefix of every channel's NOTIFY name, so schemas in one database do not wake each other. */
        protected readonly schema: string,
        protected readonly queryTimeout: number,
        /** Called after a reconnect with the new session's identity. */
        protected readonly onReconnect: (identity: BackendIdentity) => void,
    ) {
    }

    /** The current session's identity, connecting first if needed. Rejects when the server cannot be reached. */
    ensure(): Promise<BackendIdentity> {
        if (this.identity) return Promise.resolve(this.identity);
        if (!this.connecting) {
            clearTimeout(this.retryTimer);
            this.connecting = this.connect().finally(() => this.connecting = undefined);
            this.connecting.catch(() => this.scheduleReconnect());
        }
        return this.connecting;
    }

    /** True while the LISTEN session is up. */
    get connected(): boolean {
        return this.identity !== undefined;
    }

    watch(channel: string, listener: () => void): () => void {
        let set = this.listeners.get(channel);
        if (!set) {
            this.listeners.set(channel, set = new Set());
            if (this.identity) this.listen(channel);
            else this.ensure().catch(() => undefined);
        }
        set.add(listener);
        return () => {
            if (!set!.delete(listener) || set!.size) return;
            this.listeners.delete(channel);
            for (const [name, watched] of this.names) {
                if (watched !== channel) continue;
                this.names.delete(name);
                this.connection?.client.query({ text: `UNLISTEN "${name}"`, query_timeout: this.queryTimeout }).catch(() => undefined);
            }
        };
    }

    /** Wakes this process's listeners at once, without the round trip through the server. */
    notifyLocal(channels: Iterable<string>): void {
        for (const channel of new Set(channels)) {
            const set = this.listeners.get(channel);
            // Not synchronously: the caller may still be inside a storage call.
            if (set) process.nextTick(() => { for (const listener of set) listener(); });
        }
    }

    async close(): Promise<void> {
        this.closed = true;
        clearTimeout(this.retryTimer);
        clearInterval(this.checkTimer);
        this.listeners.clear();
        await this.connecting?.catch(() => undefined);
        await this.drop(false);
    }

    protected async connect(): Promise<BackendIdentity> {
        const connection = await this.open();
        if (this.closed) {
            await connection.close(false);
            throw new Error('The PostgreSQL queue storage was closed');
        }
        const { client } = connection;
        const onNotification = (message: { channel: string }) => {
            const channel = this.names.get(message.channel);
            for (const listener of channel ? this.listeners.get(channel) ?? [] : []) listener();
        };
        const onLost = () => this.lost(connection);
        client.on('notification', onNotification);
        client.on('error', onLost);
        client.on('end', onLost);
        try {
            const result = await client.query({
                text: 'SELECT pid, (extract(epoch FROM backend_start) * 1000000)::bigint::text AS start FROM pg_stat_activity WHERE pid = pg_backend_pid()',
                query_timeout: this.queryTimeout,
            });
            const identity: BackendIdentity = { pid: result.rows[0].pid, start: result.rows[0].start };
            this.connection = connection;
            this.names.clear();
            await Promise.all([...this.listeners.keys()].map(channel => this.listen(channel)));
            if (this.connection !== connection) throw new Error('The LISTEN session failed while it started');
            const reconnected = this.sessions++ > 0;
            this.failures = 0;
            this.identity = identity;
            this.startCheck(connection);
            if (reconnected) {
                this.onReconnect(identity);
                for (const set of this.listeners.values()) for (const listener of set) listener();
            }
            return identity;
        } catch (error) {
            // The listeners stay: a late 'error' event without one would crash the process.
            if (this.connection === connection) this.connection = undefined;
            await connection.close(true).catch(() => undefined);
            throw error;
        }
    }

    /** LISTENs to a channel's name; the server computes the name, as the statements that notify do. */
    protected async listen(channel: string): Promise<void> {
        const client = this.connection?.client;
        if (!client) return;
        try {
            const result = await client.query({ text: "SELECT 'dq_' || md5($1) AS name", values: [`${this.schema}.${channel}`], query_timeout: this.queryTimeout });
            const name: string = result.rows[0].name;
            if (!this.listeners.has(channel) || this.connection?.client !== client) return;
            this.names.set(name, channel);
            await client.query({ text: `LISTEN "${name}"`, query_timeout: this.queryTimeout });
            // A message produced before LISTEN took effect would go unannounced: look once.
            for (const listener of this.listeners.get(channel) ?? []) listener();
        } catch {
            // The session failed; its 'error' handler reconnects and LISTENs again.
        }
    }

    protected lost(connection: ListenConnection): void {
        if (this.connection !== connection) return;
        void this.drop(true);
        this.scheduleReconnect();
    }

    /** Asks the session periodically: a session that does not answer within the timeout counts as lost. */
    protected startCheck(connection: ListenConnection): void {
        clearInterval(this.checkTimer);
        let checking = false;
        this.checkTimer = setInterval(async () => {
            if (checking || this.connection !== connection) return;
            checking = true;
            try {
                await connection.client.query({ text: 'SELECT 1', query_timeout: Math.min(this.queryTimeout, listenCheckTimeoutMs) });
            } catch {
                this.lost(connection);
            } finally {
                checking = false;
            }
        }, listenCheckIntervalMs);
        // The session's socket keeps the process alive while consumers run, not this timer.
        this.checkTimer.unref();
    }

    protected async drop(broken: boolean): Promise<void> {
        clearInterval(this.checkTimer);
        const connection = this.connection;
        this.connection = undefined;
        this.identity = undefined;
        this.names.clear();
        if (connection) await connection.close(broken).catch(() => undefined);
    }

    /** Only while someone listens; otherwise the next `ensure()` connects. */
    protected scheduleReconnect(): void {
        if (this.closed || this.connecting || this.identity || !this.listeners.size) return;
        clearTimeout(this.retryTimer);
        const delay = reconnectDelays[Math.min(this.failures, reconnectDelays.length - 1)];
        this.failures++;
        this.retryTimer = setTimeout(() => this.ensure().catch(() => undefined), delay);
    }
}
