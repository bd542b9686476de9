import { createModuleClass } from '@deepkit/app';
import { ClassType } from '@deepkit/core';
import { InjectorContext } from '@deepkit/injector';
import { Logger } from '@deepkit/logger';
import { QueueFailedCommand } from './cli/queue-failed';
import { QueuePurgeCommand } from './cli/queue-purge';
import { QueueRetryCommand } from './cli/queue-retry';
import { QueueStatsCommand } from './cli/queue-stats';
import { BrokerQueueLifecycle, BrokerQueueShutdownListener } from './module-lifecycle';
import { createConfiguredAdapter, createDatabaseAdapter, resolveModuleOptions } from './module-options';
import { BrokerQueueConfig } from './module.config';
import { QueueOrmDatabase } from './orm/orm-types';
import { BrokerQueue } from './queue';
import { QueueStorageAdapter } from './storage-adapter';

/**
 * The queue as a Deepkit module: registers and exports `BrokerQueue` and the
 * storage adapter the config names (`QueueStorageAdapter`; one the app
 * provides itself wins), drains consumers and closes storage on shutdown and
 * on SIGTERM/SIGINT, and adds the operator commands `queue:stats`,
 * `queue:failed`, `queue:retry` and `queue:purge`.
 *
 *     new App({
 *         providers: [registrationChannelProvider],
 *         imports: [new FrameworkModule({}), new BrokerQueueModule({ sqlitePath: 'var/queue.sqlite' })],
 *     });
 *
 * Its `BrokerQueue` is this package's class, a different token from
 * `@deepkit/broker`'s `BrokerQueue` that `FrameworkModule` provides: both
 * resolve side by side.
 */
export class BrokerQueueModule extends createModuleClass({
    name: 'brokerQueue',
    config: BrokerQueueConfig,
    providers: [
        { provide: QueueStorageAdapter, useFactory: (config: BrokerQueueConfig) => createConfiguredAdapter(config) },
        {
            provide: BrokerQueueLifecycle,
            useFactory: (config: BrokerQueueConfig, logger: Logger) => new BrokerQueueLifecycle({
                shutdownTimeout: resolveModuleOptions(config).shutdownTimeout,
                handleSignals: config.handleSignals,
            }, logger),
        },
        {
            provide: BrokerQueue,
            useFactory: (adapter: QueueStorageAdapter, config: BrokerQueueConfig, logger: Logger, lifecycle: BrokerQueueLifecycle) => lifecycle.attach(
                new BrokerQueue(adapter, { logger, channelDefaults: resolveModuleOptions(config).channelDefaults }),
            ),
        },
    ],
    listeners: [BrokerQueueShutdownListener],
    controllers: [QueueStatsCommand, QueueFailedCommand, QueueRetryCommand, QueuePurgeCommand],
    exports: [BrokerQueue, QueueStorageAdapter],
}) {
    protected database?: ClassType<QueueOrmDatabase>;

    /**
     * Stores the queue in the application's own `@deepkit/orm` database (its
     * SQLite file, or its PostgreSQL database): one database to configure, and
     * its sessions and the database itself work with `produce(data, { session })`
     * and `consume(callback, { database })`. `adapter`, `sqlitePath` and
     * `postgresUrl` are then ignored; `durability` applies to SQLite.
     *
     *     imports: [new BrokerQueueModule({}).forDatabase(AppDatabase)]
     */
    forDatabase(database: ClassType<QueueOrmDatabase>): this {
        this.database = database;
        return this;
    }

    override process(): void {
        // Fail at startup, not at the first message.
        resolveModuleOptions(this.config);
        const database = this.database;
        if (!database) return;
        this.addProvider({
            provide: QueueStorageAdapter,
            useFactory: (config: BrokerQueueConfig, injector: InjectorContext) => createDatabaseAdapter(injector.get(database), config),
        });
    }
}
