import { Settlement } from '../storage';
import { FlowRow } from './flow-claim';

/** How long a claim's answer to nextAvailableIn() is used; a wake-up in between claims again and answers anew. */
const freshMs = 100;

/**
 * An adapter's per-process memory of its last claims held back by flow control: what the
 * `nextAvailableIn()` that follows such a claim answers, and which channels have a concurrency
 * limit, whose settlements must wake the channel's other consumers (a slot is free).
 */
export class FlowWaits {
    protected readonly waits = new Map<string, { wait: number | undefined, at: number }>();
    protected readonly limited = new Set<string>();

    afterClaim(channel: string, flow: FlowRow | undefined, wait: number | undefined | 'messages'): void {
        if (flow?.concurrency != null) this.limited.add(channel);
        else this.limited.delete(channel);
        if (flow && wait !== 'messages') this.waits.set(channel, { wait, at: performance.now() });
        else this.waits.delete(channel);
    }

    /** The answer of the claim just before, or 'messages' when it was not held back (ask the storage). */
    heldBack(channel: string): number | undefined | 'messages' {
        const held = this.waits.get(channel);
        this.waits.delete(channel);
        if (!held) return 'messages';
        const elapsed = performance.now() - held.at;
        if (elapsed >= freshMs) return 'messages';
        return held.wait === undefined ? undefined : Math.max(1, Math.ceil(held.wait - elapsed));
    }

    /** Channels with a concurrency limit where these settlements end a lease. */
    freedChannels(settlements: Settlement[], channelOf: (consumerId: string) => string | undefined): string[] {
        if (!this.limited.size) return [];
        const channels = new Set<string>();
        for (const settlement of settlements) {
            if (settlement.kind === 'start') continue;
            const channel = channelOf(settlement.consumerId);
            if (channel !== undefined && this.limited.has(channel)) channels.add(channel);
        }
        return [...channels];
    }
}
