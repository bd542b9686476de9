import { onAppExecute } from '@deepkit/app';
import { eventDispatcher } from '@deepkit/event';
import { InjectorContext, Tag } from '@deepkit/injector';
import { Logger } from '@deepkit/logger';
import { ReceiveType, resolveReceiveType, stringifyType, Type } from '@deepkit/type';
import { QueueOptionError } from '../errors';
import { BrokerQueueChannel } from '../queue';
import { describeSchedule, parseScheduleOptions, ScheduleOptions } from './schedule-options';

/** The `T` of a `BrokerQueueChannel<T>` alias. */
export type ChannelData<C> = C extends BrokerQueueChannel<infer T> ? T : never;

/** A schedule an app declares with `provideSchedule()`; upserted when a command starts. */
export class QueueScheduleDeclaration {
    constructor(
        /** The channel's injection token: the `BrokerQueueChannel<T>` alias it was declared with. */
        readonly channel: Type,
        readonly key: string,
        readonly options: ScheduleOptions,
        readonly data: unknown,
    ) {
    }
}

/** Every `provideSchedule()` of the app, from any module (a Deepkit tag). */
export class QueueScheduleDeclarations extends Tag<QueueScheduleDeclaration> {
}

/**
 * Declares a schedule next to the channel's provider; `BrokerQueueModule` upserts it (by
 * `key`) when any command of the app starts (`server:start`, a worker command, ...), so
 * every process declares the same schedules and replacing one with the same timing keeps
 * its next run. `C` is the channel's exported alias, the same token as its provider's:
 *
 *     export const nightlyReportSchedule = provideSchedule<ReportChannel>('nightly-report', { cron: '0 3 * * *', timezone: 'Europe/Berlin' }, { kind: 'daily' });
 *     // providers: [reportChannelProvider, nightlyReportSchedule]
 *
 * A bad option throws `QueueOptionError` here; `data` is validated against `T` on upsert.
 */
export function provideSchedule<C extends BrokerQueueChannel<any>>(key: string, options: ScheduleOptions, data: ChannelData<C>, channel?: ReceiveType<C>) {
    parseScheduleOptions(options);
    const declaration = new QueueScheduleDeclaration(resolveReceiveType(channel), key, options, data);
    // A token of its own per declaration: the tag collects them all.
    return QueueScheduleDeclarations.provide({ provide: Symbol(`schedule ${key}`), useValue: declaration });
}

/** Upserts the declared schedules before a command runs; a failure fails the command. */
export class QueueScheduleBootstrap {
    constructor(
        protected readonly declarations: QueueScheduleDeclarations,
        protected readonly injector: InjectorContext,
        protected readonly logger: Logger,
    ) {
    }

    @eventDispatcher.listen(onAppExecute)
    async upsertDeclared(): Promise<void> {
        for (const declaration of this.declarations.services) {
            const channel = this.resolve(declaration);
            const info = await channel.schedule(declaration.key, declaration.options, declaration.data);
            // Debug, not log: a command's stdout may be JSON for a script.
            this.logger.debug(`Queue: schedule '${info.key}' of channel '${info.channel}' (${describeSchedule(info.options)}), next run ${info.nextRunAt.toISOString()}`);
        }
    }

    protected resolve(declaration: QueueScheduleDeclaration): BrokerQueueChannel<unknown> {
        let channel: unknown;
        try {
            channel = this.injector.get(declaration.channel);
        } catch (error) {
            throw new QueueOptionError(`Schedule '${declaration.key}' names the channel ${stringifyType(declaration.channel)}, which the app does not provide at its root (add its provider next to the schedule)`, { cause: error });
        }
        if (!(channel instanceof BrokerQueueChannel)) {
            throw new QueueOptionError(`Schedule '${declaration.key}' needs a BrokerQueueChannel alias as its type argument, got ${stringifyType(declaration.channel)}`);
        }
        return channel;
    }
}
