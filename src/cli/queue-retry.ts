import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { CommandOutput, unknownChannelError } from './command-output';

/**
 * `queue:retry <channel> [ids] [--all] [--json]`: failed messages become
 * pending again with a fresh attempt count. `@deepkit/app` gives an argument
 * one value, so several ids are one argument: `'3,7,9'` or `'3 7 9'`.
 */
@cli.controller('queue:retry', { description: 'Make failed messages of a channel pending again: the ids named, or --all' })
export class QueueRetryCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description The channel name */
        channel: string,
        /** @description Message ids, separated by commas or spaces */
        ids?: string,
        /** @description Retry every failed message of the channel */
        all: boolean & Flag = false,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        const list = ids?.split(/[\s,]+/).filter(Boolean) ?? [];
        if (all === Boolean(list.length)) {
            return output.fail(list.length ? 'Name message ids or pass --all, not both.' : 'Name the message ids to retry (e.g. 3,7,9) or pass --all.');
        }
        const error = await unknownChannelError(this.queue, channel);
        if (error) return output.fail(error);
        const retried = await this.queue.retryFailed(channel, all ? undefined : list);
        if (json) {
            output.json({ channel, retried });
        } else {
            output.print(`Retried ${retried} failed message(s) of channel '${channel}'.`);
            if (!all && retried < list.length) output.print(`${list.length - retried} of the ids named were not failed messages of this channel.`);
        }
        return 0;
    }
}
