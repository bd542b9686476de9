import { QueueLogger } from '../consumer';
import { QueueStorage, StoredSchedule } from '../storage';
import { deserializeScheduleOptions, describeSchedule, onTimeTolerance } from './schedule-options';
import { ScheduleTimes } from './schedule-times';

export interface SchedulerContext {
    storage: QueueStorage;
    logger: QueueLogger;
    /** The longest sleep: schedules added by other processes are noticed within it. */
    pollInterval: number;
}

/** Due schedules handled per query; a full batch is followed by another query at once. */
const batchSize = 100;
/** setTimeout's upper bound (a larger delay fires at once). */
const maxTimerDelay = 2_147_483_647;
/** Parsed tick calculators by stored spec text; schedules are few, but bound it anyway. */
const maxCachedSpecs = 1000;

/**
 * Fires due schedules: reads them with the storage's clock, computes their ticks (catch-up
 * included) and the next run, and hands each to `fireSchedule()`, whose compare-and-set lets
 * exactly one process win each tick. Every process runs this loop while it has consumers or
 * a `runScheduler()`; they all wake at a tick and race for it, so a dead process costs nothing.
 * Sleeps until the earliest next run, at most `pollInterval`.
 */
export class QueueScheduler {
    protected running = false;
    protected firing?: Promise<void>;
    protected again = false;
    protected timer?: NodeJS.Timeout;
    protected readonly times = new Map<string, ScheduleTimes>();
    /** Stored specs this version cannot read, reported once each. */
    protected readonly broken = new Set<string>();

    constructor(protected readonly context: SchedulerContext) {
    }

    get started(): boolean {
        return this.running;
    }

    start(): void {
        if (this.running) return;
        this.running = true;
        this.wake();
    }

    /** Stops the loop and waits for a firing under way, so the storage can be closed after. */
    async stop(): Promise<void> {
        this.running = false;
        clearTimeout(this.timer);
        this.timer = undefined;
        await this.firing;
    }

    /** Looks for due schedules now (a schedule was added or changed in this process). */
    wake(): void {
        if (!this.running) return;
        if (this.firing) {
            this.again = true;
            return;
        }
        clearTimeout(this.timer);
        this.timer = undefined;
        // One callback, not finally + then: a wake() in between would start a second round.
        this.firing = this.fireDue().then(delay => {
            this.firing = undefined;
            if (!this.running) return;
            if (this.again) {
                this.again = false;
                this.wake();
            } else {
                this.timer = setTimeout(() => this.wake(), Math.min(maxTimerDelay, Math.max(1, Math.ceil(delay))));
            }
        });
    }

    /** One round: fires what is due, returns how long to sleep. */
    protected async fireDue(): Promise<number> {
        const { storage, logger, pollInterval } = this.context;
        let sleep = pollInterval;
        try {
            for (;;) {
                const { now, due, nextIn } = await storage.dueSchedules(batchSize);
                sleep = Math.min(pollInterval, nextIn ?? Infinity);
                for (const schedule of due) {
                    if (!this.running) return sleep;
                    const next = await this.fire(schedule, now);
                    // Also when another process won: its next run is the one computed here.
                    if (next !== undefined) sleep = Math.min(sleep, next - now);
                }
                if (due.length < batchSize || !this.running) return sleep;
            }
        } catch (error) {
            logger.error(`Queue scheduler could not fire due schedules; trying again in ${pollInterval}ms:`, error);
            return pollInterval;
        }
    }

    /** Fires one due schedule; returns its next run, or undefined when its spec cannot be read. */
    protected async fire(schedule: StoredSchedule, now: number): Promise<number | undefined> {
        const times = this.timesOf(schedule);
        if (!times) return undefined;
        const tolerance = Math.max(onTimeTolerance, this.context.pollInterval);
        const { ticks, next, skipped, skippedMore } = times.due(schedule.nextRunAt, now, tolerance);
        const ids = await this.context.storage.fireSchedule({
            channel: schedule.channel, key: schedule.key, revision: schedule.revision, ticks, nextRunAt: next,
        });
        if (ids && skipped) {
            const missed = `${skippedMore ? 'more than ' : ''}${skipped + ticks.length} tick(s) since ${new Date(schedule.nextRunAt).toISOString()}`;
            this.context.logger.warn(`Queue schedule '${schedule.key}' of channel '${schedule.channel}' (${describeSchedule(times.options)}) found ${missed} due; `
                + `catchUp '${times.options.catchUp}' enqueued ${ticks.length} and skipped ${skippedMore ? 'the rest' : skipped}. Next run: ${new Date(next).toISOString()}`);
        }
        return next;
    }

    protected timesOf(schedule: StoredSchedule): ScheduleTimes | undefined {
        let times = this.times.get(schedule.spec);
        if (times) return times;
        try {
            times = new ScheduleTimes(deserializeScheduleOptions(schedule.spec));
        } catch (error) {
            if (!this.broken.has(schedule.spec)) {
                this.broken.add(schedule.spec);
                this.context.logger.error(`Queue schedule '${schedule.key}' of channel '${schedule.channel}' has a spec this version cannot use (${schedule.spec}); it does not fire until it is scheduled again:`, error);
            }
            return undefined;
        }
        if (this.times.size >= maxCachedSpecs) this.times.clear();
        this.times.set(schedule.spec, times);
        return times;
    }
}
