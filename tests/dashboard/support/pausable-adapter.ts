import { ChannelStats, ClaimedMessage, SqliteQueueAdapter } from '../../../src';

/**
 * A stand-in for pause/resume (issue 10, not built yet) on a real SQLite
 * storage, so that the dashboard's capability check has something to find:
 * paused channels are kept in this process and claim nothing.
 */
export class PausableSqliteAdapter extends SqliteQueueAdapter {
    readonly paused = new Set<string>();

    async pause(channel: string): Promise<void> {
        this.paused.add(channel);
    }

    async resume(channel: string): Promise<void> {
        this.paused.delete(channel);
    }

    override async claim(channel: string, consumerId: string, limit: number, lease: number): Promise<ClaimedMessage[]> {
        return this.paused.has(channel) ? [] : super.claim(channel, consumerId, limit, lease);
    }

    override async stats(channel?: string): Promise<ChannelStats[]> {
        return (await super.stats(channel)).map(v => ({ ...v, paused: this.paused.has(v.channel) }));
    }
}
