import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { CommandOutput, unknownChannelError } from './command-output';

/** `queue:failed <channel> [--limit n] [--json]`: the dead letters of a channel. */
@cli.controller('queue:failed', { description: 'List the failed messages of a channel: id, attempts, last error' })
export class QueueFailedCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description The channel name */
        channel: string,
        /** @description At most this many messages */
        limit: number & Flag = 100,
        /** @description Print JSON for scripts (with the full error text) */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        const error = await unknownChannelError(this.queue, channel);
        if (error) return output.fail(error);
        const failed = await this.queue.listFailed(channel, { limit });
        if (json) {
            output.json(failed.map(v => ({ id: v.id, attempts: v.attempt, maxAttempts: v.maxAttempts, error: v.error, producedAt: v.producedAt, failedAt: v.failedAt })));
            return 0;
        }
        if (!failed.length) {
            output.print(`Channel '${channel}' has no failed messages.`);
            return 0;
        }
        output.table(
            ['id', 'attempts', 'failed at', 'last error'],
            failed.map(v => [v.id, `${v.attempt}/${v.maxAttempts}`, v.failedAt.toISOString(), firstLine(v.error)]),
        );
        return 0;
    }
}

function firstLine(text: string): string {
    const line = text.split('\n', 1)[0];
    return line.length > 120 ? line.slice(0, 119) + '…' : line;
}
