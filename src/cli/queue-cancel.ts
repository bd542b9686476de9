import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { CommandOutput, unknownChannelError } from './command-output';

/**
 * `queue:cancel <channel> <id> [--json]`: a pending or delayed message is
 * removed; a running one is kept as failed ('cancelled') and its callback's
 * `message.signal` aborted in whichever process runs it. Exit code 1 when the
 * message is not pending, delayed or running in the channel.
 */
@cli.controller('queue:cancel', { description: 'Cancel one message: remove it if pending or delayed, abort it (kept as failed) if running' })
export class QueueCancelCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description The channel name */
        channel: string,
        /** @description The message id */
        id: string,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        const error = await unknownChannelError(this.queue, channel);
        if (error) return output.fail(error);
        const result = await this.queue.cancel(channel, id);
        if (json) {
            output.json({ channel, id, result });
            return result === 'not found' ? 1 : 0;
        }
        if (result === 'not found') return output.fail(`Message ${id} is not pending, delayed or running in channel '${channel}' (no such message, or it is already done or failed).`);
        output.print(result === 'removed'
            ? `Removed message ${id} of channel '${channel}' (it was pending or delayed).`
            : `Cancelled message ${id} of channel '${channel}': it was running; its callback is aborted and it is kept as failed ('cancelled').`);
        return 0;
    }
}
