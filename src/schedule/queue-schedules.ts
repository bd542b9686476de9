import { MessageCodec } from '../codec';
import { QueueOptionError } from '../errors';
import { checkMessageSize } from '../message-limits';
import { BrokerQueueChannelOptionsResolved } from '../options';
import { StoredSchedule } from '../storage';
import { deserializeScheduleOptions, parseScheduleOptions, ScheduleOptions, ScheduleOptionsResolved, serializeScheduleOptions } from './schedule-options';
import { ScheduleTimes } from './schedule-times';
import { QueueScheduler, SchedulerContext } from './scheduler';

/** One schedule as `queue.schedules()` and `channel.schedule()` report it. */
export interface ScheduleInfo {
    channel: string;
    key: string;
    /** The options as stored (`every` in ms), defaults filled in. */
    options: ScheduleOptionsResolved;
    /** The next tick, by the storage's clock. */
    nextRunAt: Date;
    /** The latest tick enqueued; undefined before the first. */
    lastRunAt?: Date;
    updatedAt: Date;
}

export interface QueueSchedulesContext extends SchedulerContext {
    /** Connects the queue's storage (once). */
    connect(): Promise<void>;
}

/**
 * The schedules of one `BrokerQueue`: create, replace, remove and list them, and run the
 * queue's scheduler loop while the queue has consumers or a `runScheduler()` holds it.
 */
export class QueueSchedules {
    readonly scheduler: QueueScheduler;
    protected consumersRunning = false;
    protected holds = 0;
    /** Bumped by stop(): a release from before it must not count down the holds taken after. */
    protected generation = 0;

    constructor(protected readonly context: QueueSchedulesContext) {
        this.scheduler = new QueueScheduler(context);
    }

    /** `runScheduler()` calls still running. */
    get runs(): number {
        return this.holds;
    }

    /** Validates everything before it writes: a bad option or value stores nothing. */
    async upsert<T>(codec: MessageCodec<T>, channel: Pick<BrokerQueueChannelOptionsResolved, 'maxAttempts' | 'maxMessageSize'>, key: string, options: ScheduleOptions, data: T): Promise<ScheduleInfo> {
        checkKey(key);
        const resolved = parseScheduleOptions(options);
        const payload = codec.encode(data);
        checkMessageSize(codec.channel, payload, channel.maxMessageSize);
        const { maxAttempts } = channel;
        const { spec, timing } = serializeScheduleOptions(resolved);
        await this.context.connect();
        const { storage } = this.context;
        const nextRunAt = new ScheduleTimes(resolved).after(await storage.clock());
        const stored = await storage.upsertSchedule({ channel: codec.channel, key, spec, timing, payload, maxAttempts, nextRunAt });
        // The new next run may be earlier than what the loop sleeps for.
        this.scheduler.wake();
        return scheduleInfo(stored);
    }

    async remove(channel: string, key: string): Promise<boolean> {
        checkKey(key);
        await this.context.connect();
        return this.context.storage.removeSchedule(channel, key);
    }

    async list(channel?: string): Promise<ScheduleInfo[]> {
        await this.context.connect();
        return (await this.context.storage.listSchedules(channel)).map(scheduleInfo);
    }

    /** The queue's consumers started (true) or all stopped (false). */
    consumersChanged(running: boolean): void {
        this.consumersRunning = running;
        this.update();
    }

    /** Keeps the scheduler running until the returned function is called. */
    hold(): () => void {
        this.holds++;
        this.update();
        const generation = this.generation;
        let released = false;
        return () => {
            if (released || generation !== this.generation) return;
            released = true;
            this.holds--;
            this.update();
        };
    }

    /** Stops the loop for good (the queue disconnects); waits for a firing under way. */
    async stop(): Promise<void> {
        this.consumersRunning = false;
        this.holds = 0;
        this.generation++;
        await this.scheduler.stop();
    }

    protected update(): void {
        if (this.consumersRunning || this.holds) this.scheduler.start();
        else void this.scheduler.stop();
    }
}

function checkKey(key: unknown): void {
    if (typeof key !== 'string' || !key || key.length > 255) {
        throw new QueueOptionError(`A schedule key must be a string of 1 to 255 characters, got ${JSON.stringify(key)}`);
    }
}

function scheduleInfo(stored: StoredSchedule): ScheduleInfo {
    const info: ScheduleInfo = {
        channel: stored.channel,
        key: stored.key,
        options: deserializeScheduleOptions(stored.spec),
        nextRunAt: new Date(stored.nextRunAt),
        updatedAt: new Date(stored.updatedAt),
    };
    if (stored.lastRunAt !== undefined) info.lastRunAt = new Date(stored.lastRunAt);
    return info;
}
