import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { describeSchedule } from '../schedule/schedule-options';
import { CommandOutput } from './command-output';

/** `queue:schedules [channel] [--json]`: the stored schedules with their next and last run. */
@cli.controller('queue:schedules', { description: 'List the schedules (of one channel): key, cron or interval, catch-up, next and last run' })
export class QueueSchedulesCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description Only this channel */
        channel?: string,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        const schedules = await this.queue.schedules(channel);
        if (json) {
            output.json(schedules);
            return 0;
        }
        if (!schedules.length) {
            output.print(channel === undefined ? 'No schedules yet.' : `Channel '${channel}' has no schedules.`);
            return 0;
        }
        output.table(
            ['channel', 'key', 'schedule', 'catch up', 'next run', 'last run'],
            schedules.map(v => [v.channel, v.key, describeSchedule(v.options), v.options.catchUp, v.nextRunAt.toISOString(), v.lastRunAt?.toISOString() ?? '-']),
        );
        return 0;
    }
}
