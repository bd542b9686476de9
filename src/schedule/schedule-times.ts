import { Cron } from 'croner';
import { cronFor, ScheduleOptionsResolved } from './schedule-options';

export interface DueTicks {
    /** The ticks to enqueue, oldest first. */
    ticks: number[];
    /** The first tick after `now`. */
    next: number;
    /** Due ticks not enqueued (skipped by `catchUp`). */
    skipped: number;
    /** True when more were due than counted (a cron schedule after a long downtime). */
    skippedMore: boolean;
}

/** Due cron ticks are enumerated at most this far back (with `catchUp: 'all'`, at least `catchUpLimit`). */
const cronCountLimit = 100;

/**
 * Tick times of one schedule, in epoch ms. Cron times come from croner (time zones, DST);
 * `every` ticks are multiples of the interval since the Unix epoch, so every process computes
 * the same ticks whenever it looks.
 */
export class ScheduleTimes {
    protected readonly cron?: Cron;

    constructor(readonly options: ScheduleOptionsResolved) {
        if (options.cron !== undefined) this.cron = cronFor(options.cron, options.timezone);
    }

    /** The first tick strictly after `now`. */
    after(now: number): number {
        const every = this.options.every;
        if (every !== undefined) return Math.floor(now / every) * every + every;
        const next = this.cron!.nextRun(new Date(now));
        // parseScheduleOptions() rejected patterns that never match; croner's search ends after some years.
        if (!next) throw new Error(`Cron pattern '${this.options.cron}' has no run after ${new Date(now).toISOString()}`);
        return next.getTime();
    }

    /**
     * The ticks from `nextRunAt` (due: at or before `now`) up to `now`, reduced by the catch-up
     * policy, and the tick after them. `tolerance`: how late a tick may be and count as on time.
     */
    due(nextRunAt: number, now: number, tolerance: number): DueTicks {
        const { catchUp, catchUpLimit } = this.options;
        const cap = catchUp === 'all' ? catchUpLimit : 1;
        const { latest, total, exact } = this.dueTicks(nextRunAt, now, Math.max(cap, cronCountLimit));
        let ticks = latest.slice(-cap);
        if (catchUp === 'none' && now - ticks[ticks.length - 1] > tolerance) ticks = [];
        return { ticks, next: this.after(now), skipped: total - ticks.length, skippedMore: !exact };
    }

    /** The latest `cap` due ticks, oldest first, and how many were due in all (a lower bound when not `exact`). */
    protected dueTicks(nextRunAt: number, now: number, cap: number): { latest: number[], total: number, exact: boolean } {
        const every = this.options.every;
        if (every !== undefined) {
            const total = Math.floor((now - nextRunAt) / every) + 1;
            const last = nextRunAt + (total - 1) * every;
            const count = Math.min(total, cap);
            return { latest: Array.from({ length: count }, (_, i) => last - (count - 1 - i) * every), total, exact: true };
        }
        // previousRuns() excludes a run in the same second as the reference: look from just after now.
        const runs = this.cron!.previousRuns(cap + 1, new Date(now + 1)).map(v => v.getTime()).filter(v => v >= nextRunAt).reverse();
        // The stored next run is due by definition, even if the pattern no longer matches it (tz data changed).
        if (!runs.length) return { latest: [nextRunAt], total: 1, exact: true };
        const exact = runs.length <= cap;
        return { latest: runs.slice(-cap), total: runs.length, exact };
    }
}
