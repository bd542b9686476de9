import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { CommandOutput, unknownChannelError } from './command-output';

/** `queue:purge <channel> (--failed | --all) [--json]`: deletes messages for good. */
@cli.controller('queue:purge', { description: 'Delete the failed messages of a channel (--failed), or all of its messages (--all)' })
export class QueuePurgeCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description The channel name */
        channel: string,
        /** @description Delete the failed messages only */
        failed: boolean & Flag = false,
        /** @description Delete every message: pending, delayed, in flight, failed and done */
        all: boolean & Flag = false,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        if (failed === all) return output.fail('Pass exactly one of --failed (failed messages only) or --all (every message of the channel).');
        const error = await unknownChannelError(this.queue, channel);
        if (error) return output.fail(error);
        const which = all ? 'all' : 'failed';
        const purged = await this.queue.purge(channel, which);
        if (json) output.json({ channel, which, purged });
        else output.print(`Purged ${purged} ${all ? '' : 'failed '}message(s) of channel '${channel}'.`);
        return 0;
    }
}
