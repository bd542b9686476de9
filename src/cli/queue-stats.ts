import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { CommandOutput, unknownChannelError } from './command-output';

/** `queue:stats [channel] [--json]`: per channel, messages by state and the recent rate. */
@cli.controller('queue:stats', { description: 'Show pending, delayed, in flight, failed and done messages per channel, and the recent rate' })
export class QueueStatsCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description Only this channel */
        channel?: string,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        if (channel !== undefined) {
            const error = await unknownChannelError(this.queue, channel);
            if (error) return output.fail(error);
        }
        const stats = await this.queue.stats(channel);
        if (json) {
            output.json(stats);
            return 0;
        }
        if (!stats.length) {
            output.print('No channels yet.');
            return 0;
        }
        output.table(
            ['channel', 'pending', 'delayed', 'in flight', 'failed', 'done (1h)', 'rate/s', 'state'],
            stats.map(v => [v.channel, v.pending, v.delayed, v.inFlight, v.failed, v.doneLastHour, Number(v.ratePerSecond.toFixed(2)), v.paused ? 'paused' : 'running']),
        );
        return 0;
    }
}
