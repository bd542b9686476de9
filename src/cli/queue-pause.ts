import { cli, Flag } from '@deepkit/app';
import { BrokerQueue } from '../queue';
import { CommandOutput } from './command-output';

/** `queue:pause <channel> [--json]`: no new deliveries in any process until `queue:resume`. */
@cli.controller('queue:pause', { description: 'Pause a channel: produces are stored, nothing new is delivered until queue:resume' })
export class QueuePauseCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description The channel name */
        channel: string,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        await this.queue.pause(channel);
        if (json) output.json({ channel, paused: true });
        else output.print(`Paused channel '${channel}': running callbacks finish, nothing new is delivered until queue:resume.`);
        return 0;
    }
}

/** `queue:resume <channel> [--json]`: delivers again; idle consumers everywhere wake at once. */
@cli.controller('queue:resume', { description: 'Resume a paused channel' })
export class QueueResumeCommand {
    constructor(protected readonly queue: BrokerQueue) {
    }

    async execute(
        /** @description The channel name */
        channel: string,
        /** @description Print JSON for scripts */
        json: boolean & Flag = false,
    ): Promise<number> {
        const output = new CommandOutput();
        await this.queue.resume(channel);
        if (json) output.json({ channel, paused: false });
        else output.print(`Resumed channel '${channel}'.`);
        return 0;
    }
}
