/**
 * Retry timing after a failed attempt: `delay * factor^(attempt - 1)`,
 * capped at `maxDelay`. Durations are milliseconds or strings like `'1s'`.
 */
export class BrokerQueueBackoffConfig {
    /**
     * @description Wait before the first retry. Default '1s'.
     */
    delay: string | number = '1s';

    /**
     * @description Growth per attempt; 1 gives a fixed delay. Default 2.
     */
    factor: number = 2;

    /**
     * @description Upper bound of any retry delay. Default '10m'.
     */
    maxDelay: string | number = '10m';
}

/**
 * The dashboard: a token-protected page, its JSON and the Prometheus metrics,
 * served by the app's own Deepkit HTTP server under `path`. Configuring it
 * (`dashboard: { token }`, or `APP_BROKER_QUEUE_DASHBOARD_TOKEN`) turns it on.
 */
export class BrokerQueueDashboardConfig {
    /**
     * @description Serve the dashboard. Default true once a dashboard config is given; false turns it off again.
     */
    enabled: boolean = true;

    /**
     * @description URL path of the dashboard; the metrics are at <path>/metrics. Default '/_queue'.
     */
    path: string = '/_queue';

    /**
     * @description The secret for the login form and `Authorization: Bearer`, at least 16 characters (e.g. `openssl rand -hex 24`). Required unless the app plugs in its own guard (withDashboardGuard). Default '' (the app refuses to start).
     */
    token: string = '';

    /**
     * @description Show everything, allow no action (retry, purge, pause, resume, cancel). Default false.
     */
    readOnly: boolean = false;

    /**
     * @description Behind a reverse proxy: take the client address from X-Forwarded-For (for slowing down failed logins) and HTTPS from X-Forwarded-Proto. Only if the proxy sets them. Default false.
     */
    trustProxy: boolean = false;
}

/**
 * The configuration of `BrokerQueueModule`. Every field has a default; set
 * them in `new BrokerQueueModule({ ... })` or, with `app.loadConfigFromEnv()`,
 * from environment variables such as `APP_BROKER_QUEUE_SQLITE_PATH` or
 * `APP_BROKER_QUEUE_BACKOFF_DELAY`. Durations are milliseconds or strings
 * like `'500ms'`, `'30s'`, `'5m'`.
 */
export class BrokerQueueConfig {
    /**
     * @description The storage: 'sqlite' (embedded, one host) or 'postgres' (many hosts). Ignored when the app provides its own QueueStorageAdapter. Default 'sqlite'.
     */
    adapter: 'sqlite' | 'postgres' = 'sqlite';

    /**
     * @description SQLite database file, relative to the working directory; missing folders are created. Default 'var/queue.sqlite'.
     */
    sqlitePath: string = 'var/queue.sqlite';

    /**
     * @description 'full': a resolved produce() survives power loss. 'normal': survives any process crash, the last commits may be lost on power loss; several times faster. Default 'full'.
     */
    durability: 'full' | 'normal' = 'full';

    /**
     * @description PostgreSQL connection string, for adapter 'postgres'. Default '' (required then).
     */
    postgresUrl: string = '';

    /**
     * @description How long a delivered message belongs to its consumer without renewal; renewed while the callback runs. Default '30s'.
     */
    lease: string | number = '30s';

    /**
     * @description Deliveries before a message is kept as failed (dead letter). Default 5.
     */
    maxAttempts: number = 5;

    /**
     * @description The largest message produce(), produceMany() and schedule() accept, measured after BSON serialization: bytes or a size like '16mb'. A larger one is rejected with QueueMessageTooLargeError and nothing is stored. Default '16mb'.
     */
    maxMessageSize: string | number = '16mb';

    /**
     * @description Delay between attempts. Default { delay: '1s', factor: 2, maxDelay: '10m' }.
     */
    backoff: BrokerQueueBackoffConfig = new BrokerQueueBackoffConfig();

    /**
     * @description On shutdown (SIGTERM, SIGINT, app shutdown), how long running callbacks may take to finish; then their messages are handed back for redelivery. Default '30s'.
     */
    shutdownTimeout: string | number = '30s';

    /**
     * @description Stop consumers gracefully on SIGTERM and SIGINT (then exit with code 0) while any consumer runs. Default true.
     */
    handleSignals: boolean = true;

    /**
     * @description The dashboard (and Prometheus metrics at <path>/metrics), e.g. { path: '/_queue', token: '...' }. Default none (off).
     */
    dashboard?: BrokerQueueDashboardConfig;

    /**
     * @description Measure callback durations for Prometheus in this process (needs prom-client). Default true.
     */
    metrics: boolean = true;

    /**
     * @description OpenTelemetry spans for produce and for each callback, with the trace context stored in the message (needs @opentelemetry/api; a no-op without an SDK). Default true.
     */
    tracing: boolean = true;
}
