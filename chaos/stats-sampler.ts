import { BrokerQueue } from '../src';
import { chaosChannelName } from './chaos-queue';

export interface StatsSample {
    /** ms since the start of the run. */
    at: number;
    pending: number;
    delayed: number;
    inFlight: number;
    failed: number;
}

/**
 * The queue's stats once a second while the run goes on, for report.json: how
 * large the backlog grew, and what a slow drain was waiting for. A sample that
 * fails (the server is restarting) is skipped.
 */
export class StatsSampler {
    readonly samples: StatsSample[] = [];
    protected timer?: NodeJS.Timeout;
    protected stopped = false;

    constructor(protected readonly queue: BrokerQueue, protected readonly startedAt: number, protected readonly interval = 1000) {
    }

    start(): void {
        const sample = async () => {
            const [stats] = await this.queue.stats(chaosChannelName).catch(() => []);
            if (stats) this.samples.push({ at: Date.now() - this.startedAt, pending: stats.pending, delayed: stats.delayed, inFlight: stats.inFlight, failed: stats.failed });
            if (!this.stopped) this.timer = setTimeout(sample, this.interval);
        };
        void sample();
    }

    stop(): void {
        this.stopped = true;
        clearTimeout(this.timer);
    }

    peakBacklog(): number {
        return this.samples.reduce((max, v) => Math.max(max, v.pending + v.delayed + v.inFlight), 0);
    }
}
