import { SqliteQueueAdapter } from '../adapters/sqlite/sqlite-queue-adapter';
import { Duration, parseDuration } from '../duration';
import { QueueOptionError } from '../errors';
import { BrokerQueueConfig } from './module.config';
import { BrokerQueueChannelOptions, parseChannelOptions } from '../options';
import { queueAdapterFor } from '../orm/orm-queue-adapter';
import { QueueOrmDatabase } from '../orm/orm-types';
import { QueueStorageAdapter } from '../storage-adapter';

/** What `BrokerQueueModule` derives from its config, validated once at startup. */
export interface BrokerQueueModuleOptions {
    channelDefaults: BrokerQueueChannelOptions;
    shutdownTimeout: number;
}

/**
 * Validates the module config and turns it into queue options. Throws
 * `QueueOptionError` naming the config field, so a bad value fails the app's
 * start, not the first message.
 */
export function resolveModuleOptions(config: BrokerQueueConfig): BrokerQueueModuleOptions {
    return explain(() => {
        const channelDefaults: BrokerQueueChannelOptions = {
            lease: configDuration(config.lease),
            maxAttempts: config.maxAttempts,
            maxMessageSize: configDuration(config.maxMessageSize),
            backoff: {
                delay: configDuration(config.backoff.delay),
                factor: config.backoff.factor,
                maxDelay: configDuration(config.backoff.maxDelay),
            },
        };
        parseChannelOptions(channelDefaults);
        return { channelDefaults, shutdownTimeout: parseDuration(configDuration(config.shutdownTimeout), 'shutdownTimeout') };
    });
}

/** The storage adapter the config names, used when the app provides none of its own. */
export function createConfiguredAdapter(config: BrokerQueueConfig): QueueStorageAdapter {
    return explain(() => {
        if (config.adapter === 'sqlite') {
            return new SqliteQueueAdapter({ path: config.sqlitePath, synchronous: config.durability });
        }
        if (config.adapter === 'postgres') return createPostgresAdapter(config);
        throw new QueueOptionError(`Option 'adapter' must be 'sqlite' or 'postgres', got ${JSON.stringify(config.adapter)}`);
    });
}

/** The adapter of `BrokerQueueModule.forDatabase()`: the queue in the application's ORM database. */
export function createDatabaseAdapter(database: QueueOrmDatabase, config: BrokerQueueConfig): QueueStorageAdapter {
    return explain(() => {
        const isSqlite = (database.adapter as { getName?: () => string }).getName?.() === 'sqlite';
        return queueAdapterFor(database, isSqlite ? { synchronous: config.durability } : {});
    });
}

function createPostgresAdapter(config: BrokerQueueConfig): QueueStorageAdapter {
    if (!config.postgresUrl) {
        throw new QueueOptionError(`Option 'postgresUrl' is required for adapter 'postgres' (e.g. 'postgres://user:password@host:5432/db', or APP_BROKER_QUEUE_POSTGRES_URL)`);
    }
    let module: { PostgresQueueAdapter?: new (options: { connectionString: string }) => QueueStorageAdapter };
    try {
        // Loaded lazily: SQLite users never load the PostgreSQL driver.
        module = require('../adapters/postgres/postgres-queue-adapter');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') throw error;
        throw new QueueOptionError(`Adapter 'postgres' is not available in this version of deepkit-broker-queue; use 'sqlite' or provide a QueueStorageAdapter yourself`);
    }
    if (!module.PostgresQueueAdapter) throw new QueueOptionError(`Adapter 'postgres' could not be loaded: PostgresQueueAdapter is missing`);
    return new module.PostgresQueueAdapter({ connectionString: config.postgresUrl });
}

/** Config values from the environment arrive as strings: a bare number is milliseconds. */
/** A number from the environment arrives as a string of digits: milliseconds, or bytes for a size. */
function configDuration(value: Duration): Duration {
    return typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
}

function explain<T>(operation: () => T): T {
    try {
        return operation();
    } catch (error) {
        if (error instanceof QueueOptionError) {
            throw new QueueOptionError(`Invalid BrokerQueueModule configuration: ${error.message}`, { cause: error });
        }
        throw error;
    }
}
