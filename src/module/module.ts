import { AppModule, createModuleClass } from '@deepkit/app';
import { ClassType } from '@deepkit/core';
import { InjectorContext } from '@deepkit/injector';
import { Logger } from '@deepkit/logger';
import { Stopwatch } from '@deepkit/stopwatch';
import { QueueCancelCommand } from '../cli/queue-cancel';
import { QueueFailedCommand } from '../cli/queue-failed';
import { QueuePurgeCommand } from '../cli/queue-purge';
import { QueuePauseCommand, QueueResumeCommand } from '../cli/queue-pause';
import { QueueRetryCommand } from '../cli/queue-retry';
import { QueueSchedulesCommand } from '../cli/queue-schedules';
import { QueueStatsCommand } from '../cli/queue-stats';
import { QueueDashboardGuard } from '../dashboard/dashboard-guard';
import { parseDashboardOptions } from '../dashboard/dashboard-options';
import { QueueDashboard } from '../dashboard/queue-dashboard';
import { QueueOptionError } from '../errors';
import { BrokerQueueLifecycle, BrokerQueueShutdownListener } from './lifecycle';
import { QueueObservability } from './observability';
import { createConfiguredAdapter, createDatabaseAdapter, resolveModuleOptions } from './options';
import { BrokerQueueConfig } from './module.config';
import { QueueOrmDatabase } from '../orm/orm-types';
import { BrokerQueue } from '../queue';
import { QueueStorageAdapter } from '../storage-adapter';
import { QueueScheduleBootstrap } from '../schedule/schedule-provider';

/**
 * The queue as a Deepkit module: registers and exports `BrokerQueue` and the
 * storage adapter the config names (`QueueStorageAdapter`; one the app
 * provides itself wins), drains consumers and closes storage on shutdown, on
 * SIGTERM/SIGINT and, inside `server:start`, on the framework's server
 * shutdown, and adds the operator commands `queue:stats`,
 * `queue:failed`, `queue:retry`, `queue:purge` and `queue:schedules`. Schedules declared
 * with `provideSchedule()` are upserted when a command starts.
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
            provide: QueueObservability,
            useFactory: (config: BrokerQueueConfig, stopwatch?: Stopwatch) => new QueueObservability(config, stopwatch),
        },
        {
            provide: BrokerQueue,
            useFactory: (adapter: QueueStorageAdapter, config: BrokerQueueConfig, logger: Logger, lifecycle: BrokerQueueLifecycle, observability: QueueObservability) => {
                const queue = new BrokerQueue(adapter, { logger, channelDefaults: resolveModuleOptions(config).channelDefaults, instrumentation: observability.instrumentation });
                observability.metrics?.attach(queue);
                return lifecycle.attach(queue);
            },
        },
    ],
    listeners: [BrokerQueueShutdownListener, QueueScheduleBootstrap],
    controllers: [QueueStatsCommand, QueueFailedCommand, QueueRetryCommand, QueuePurgeCommand, QueueCancelCommand, QueueSchedulesCommand, QueuePauseCommand, QueueResumeCommand],
    exports: [BrokerQueue, QueueStorageAdapter, QueueObservability],
}) {
    protected dashboardGuard?: ClassType<QueueDashboardGuard>;

    /**
     * Lets the app's own auth decide who may open the dashboard (see
     * `QueueDashboardGuard`); the token becomes optional.
     */
    withDashboardGuard(guard: ClassType<QueueDashboardGuard>): this {
        this.dashboardGuard = guard;
        return this;
    }

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
        if (this.config.dashboard?.enabled) this.addDashboard();
        if (importsFrameworkModule(this)) {
            // Required here, not imported: apps without FrameworkModule never load @deepkit/framework.
            this.addListener(require('./server-shutdown').BrokerQueueServerListener);
        }
        const database = this.database;
        if (!database) return;
        this.addProvider({
            provide: QueueStorageAdapter,
            useFactory: (config: BrokerQueueConfig, injector: InjectorContext) => createDatabaseAdapter(injector.get(database), config),
        });
    }

    protected addDashboard(): void {
        let options;
        try {
            options = parseDashboardOptions({ ...this.config.dashboard, guard: !!this.dashboardGuard });
        } catch (error) {
            throw new QueueOptionError(`Invalid BrokerQueueModule configuration: ${(error as Error).message}`, { cause: error });
        }
        if (this.dashboardGuard) {
            this.addProvider({ provide: QueueDashboardGuard, useClass: this.dashboardGuard });
            this.addProvider({
                provide: QueueDashboard,
                useFactory: (queue: BrokerQueue, logger: Logger, observability: QueueObservability, guard: QueueDashboardGuard) => new QueueDashboard(queue, options, logger, observability.metrics, guard),
            });
        } else {
            this.addProvider({
                provide: QueueDashboard,
                useFactory: (queue: BrokerQueue, logger: Logger, observability: QueueObservability) => new QueueDashboard(queue, options, logger, observability.metrics),
            });
        }
        // Loaded here: @deepkit/http is needed only with the dashboard on.
        const { createDashboardController } = require('../dashboard/dashboard-controller') as typeof import('../dashboard/dashboard-controller');
        this.addController(createDashboardController(options.path));
    }
}

/** Whether the app this module belongs to imports `@deepkit/framework`'s FrameworkModule, found by its module name. */
function importsFrameworkModule(module: AppModule<any>): boolean {
    let root: AppModule<any> = module;
    while (root.getParent()) root = root.getParent() as AppModule<any>;
    const seen = new Set<AppModule<any>>();
    const visit = (current: AppModule<any>): boolean => {
        if (seen.has(current)) return false;
        seen.add(current);
        return current.getName() === 'framework' || current.getImports().some(visit);
    };
    return visit(root);
}
