import { randomUUID } from 'crypto';
import { declareChannelFlow } from './flow/flow-declare';
import { performance } from 'perf_hooks';
import { Batcher, BatchWaiter } from './batcher';
import { MessageCodec } from './codec';
import { QueueDecodeError, QueueMessageAbortedError } from './errors';
import { QueueInstrumentation } from './instrumentation';
import { claimByteBudget, heldBytes, SettlingBytes } from './message-limits';
import { observeRun, ObservedRun } from './observed-run';
import { BrokerQueueMessage } from './message';
import { hostIdentity } from './process-liveness';
import { backoffDelay, BrokerQueueChannelOptionsResolved, BrokerQueueConsumeOptionsResolved } from './options';
import { abortLostRuns } from './lost-lease';
import { RunningMessage } from './running-message';
import { cancelWatchChannel, ClaimedMessage, MessageId, QueueStorage, Settlement } from './storage';

/** The adaptive prefetch leases about this much work ahead, and never more than `maxPrefetch` messages. */
const prefetchWindowMs = 20;
const maxPrefetch = 256;
/** A stop that waits for running callbacks says which, at least this often. */
const stillRunningWarningMs = 10_000;

export type ConsumeCallback<T> = (data: T, message: BrokerQueueMessage<T>) => Promise<void> | void;

export interface QueueLogger {
    error(...message: any[]): void;
    warn(...message: any[]): void;
    log(...message: any[]): void;
    debug(...message: any[]): void;
}

export interface ConsumerContext {
    storage: QueueStorage;
    settlements: Batcher<Settlement, MessageId | undefined>;
    logger: QueueLogger;
    /** Backstop for a missed wake-up, and the longest wait for a delayed message. */
    pollInterval: number;
    /** Metrics, tracing, profiling; undefined when off. */
    instrumentation?: QueueInstrumentation;
}

/**
 * One `consume()` call: claims messages (leases), runs the callback with at
 * most `maxParallel` at once, renews leases while callbacks run, and settles
 * each message as done, retry, failed or rescheduled.
 */
export class QueueConsumer<T> {
    readonly id = randomUUID();
    /**
     * Messages whose callback runs. An array, not a Set: a Set that fills and empties with every
     * batch reallocates its table each time, and those tables ended up in V8's old generation.
     */
    protected running: RunningMessage[] = [];
    protected buffer: ClaimedMessage[] = [];
    protected stopped = false;
    protected stopping?: Promise<void>;
    protected abandoned = false;
    protected fetching = false;
    protected fetchScheduled = false;
    protected starting = false;
    protected wanted = false;
    /**
     * The last claim got fewer than it asked for: nothing more was available then. Until a wake-up
     * (watch, poll timer, reclaim) says otherwise, a finished callback does not claim again.
     */
    protected drained = false;
    protected idle = Promise.resolve();
    protected idleResolve?: () => void;
    protected pollTimer?: NodeJS.Timeout;
    protected renewTimer?: NodeJS.Timeout;
    protected unwatch?: () => void;
    protected unwatchCancels?: () => void;
    /** A renewal is under way: a cancel announced meanwhile renews once more after it. */
    protected renewing?: Promise<void>;
    protected renewAgain = false;
    /** Set once the consumer stops renewing (stopped or abandoned): no renewal may start after its unregistration. */
    protected renewStopped = false;
    /** Moving average of callback durations, for the adaptive prefetch. */
    protected averageCallbackMs?: number;
    protected readonly timeout?: number;
    /** A message that asks to record its start (`recordStart`): while set, nothing else starts. */
    protected alone?: ClaimedMessage;
    /**
     * Settlements pushed and not yet committed (or failed): still leased, so their bytes count against
     * `prefetchBytes`; with the running callbacks they are what a crash redelivers, so no callback starts
     * while both together reach `maxParallel + maxUnsettled`.
     */
    protected readonly settling = new SettlingBytes();
    /** A claim was skipped for `prefetchBytes`: a committed settlement frees bytes and claims again. */
    protected overBudget = false;

    constructor(
        protected readonly context: ConsumerContext,
        protected readonly codec: MessageCodec<T>,
        protected readonly channelOptions: BrokerQueueChannelOptionsResolved,
        protected readonly options: BrokerQueueConsumeOptionsResolved,
        protected readonly callback: ConsumeCallback<T>,
    ) {
        this.timeout = options.timeout ?? channelOptions.timeout;
    }

    get channel(): string {
        return this.codec.channel;
    }

    async start(): Promise<void> {
        await declareChannelFlow(this.context.storage, this.context.logger, this.channel, { ...this.channelOptions.flow, ...this.options.flow });
        await this.context.storage.registerConsumer({ id: this.id, channel: this.channel, host: hostIdentity(), pid: process.pid });
        this.unwatch = this.context.storage.watch(this.channel, () => this.wake());
        // A message of the channel was cancelled somewhere: if it is one of ours, the renewal finds its lease gone.
        this.unwatchCancels = this.context.storage.watch(cancelWatchChannel(this.channel), () => this.renewNow());
        this.renewTimer = setInterval(() => this.renewNow(), Math.max(50, Math.floor(this.channelOptions.lease / 3)));
        this.renewTimer.unref();
        this.wake();
    }

    /**
     * Stops claiming, waits for running callbacks, hands back unstarted messages and forgets the consumer.
     * Every call gets the same promise, so a queue stopping while a `release()` is under way waits for it.
     * Never rejects: `release()` is called unawaited inside callbacks, where a rejection would end the process.
     */
    stop(): Promise<void> {
        return this.stopping ??= this.shutdown();
    }

    protected async shutdown(): Promise<void> {
        this.stopped = true;
        this.unwatch?.();
        clearTimeout(this.pollTimer);
        const warning = setInterval(() => this.warnStillRunning(), Math.min(stillRunningWarningMs, this.channelOptions.lease));
        // Only says why the process waits; it must not be what keeps it alive.
        warning.unref();
        try {
            while (!this.abandoned && (this.fetching || this.running.length)) await this.waitForIdle();
        } finally {
            clearInterval(warning);
        }
        // abandon() has handed everything back and forgotten the consumer.
        if (this.abandoned) return;
        clearInterval(this.renewTimer);
        this.unwatchCancels?.();
        this.renewStopped = true;
        const unstarted = this.buffer.splice(0);
        for (const message of unstarted) this.settle({ kind: 'release', id: message.id, consumerId: this.id });
        await this.context.settlements.drain();
        try {
            await this.context.storage.unregisterConsumer(this.id);
        } catch (error) {
            // Its leases run out and are reclaimed like those of a dead worker.
            this.context.logger.error(`Queue consumer of channel '${this.channel}' could not unregister; its leases expire instead:`, error);
        }
    }

    /**
     * Gives up without waiting for running callbacks (shutdown timeout): the
     * consumer is forgotten and all its leases, running or not, are pending
     * again at once. A callback that still finishes later settles nothing.
     */
    async abandon(): Promise<void> {
        this.stopped = true;
        this.abandoned = true;
        this.unwatch?.();
        this.unwatchCancels?.();
        this.renewStopped = true;
        clearTimeout(this.pollTimer);
        clearInterval(this.renewTimer);
        const running = this.running.map(v => v.claimed.id);
        for (const run of this.running.splice(0)) {
            run.abort(new QueueMessageAbortedError(`The shutdown timeout passed while the callback of message ${run.claimed.id} ran; it was handed back for redelivery`, 'shutdown'));
        }
        this.buffer = [];
        this.context.logger.warn(`Queue consumer of channel '${this.channel}' abandoned ${running.length} running callback(s) (${running.join(', ')}); their messages are delivered again.`);
        this.notifyIdle();
        await this.context.storage.unregisterConsumer(this.id);
    }

    protected warnStillRunning(): void {
        if (!this.running.length) return;
        const ids = this.running.map(v => v.claimed.id);
        this.context.logger.warn(`Queue consumer of channel '${this.channel}' is stopping and still waits for ${ids.length} running callback(s): ${ids.join(', ')}`);
    }

    /** Something may be available: claim as soon as there is room. */
    wake(): void {
        if (this.stopped) return;
        this.wanted = true;
        this.drained = false;
        if (this.fetching || this.fetchScheduled) return;
        // Claim in a later turn of the event loop, never inside the promise chain of
        // the callbacks: a synchronous storage and fast callbacks would otherwise
        // starve timers and I/O, and settlements would pile up unwritten.
        this.fetchScheduled = true;
        setImmediate(() => {
            this.fetchScheduled = false;
            void this.fetch();
        });
    }

    protected waitForIdle(): Promise<void> {
        if (!this.idleResolve) this.idle = new Promise(resolve => this.idleResolve = resolve);
        return this.idle;
    }

    protected notifyIdle(): void {
        const resolve = this.idleResolve;
        this.idleResolve = undefined;
        resolve?.();
    }

    protected prefetch(): number {
        if (!this.options.adaptivePrefetch || this.averageCallbackMs === undefined) return this.options.prefetch;
        const perWindow = Math.floor(prefetchWindowMs * this.options.maxParallel / Math.max(this.averageCallbackMs, 0.01));
        return Math.max(this.options.prefetch, Math.min(maxPrefetch, perWindow));
    }

    protected capacity(): number {
        return this.options.maxParallel + this.prefetch() - this.running.length - this.buffer.length;
    }

    /**
     * One claim per call. More work is claimed by the next call, in a later turn of the event
     * loop (wake): synchronous callbacks finish within startBuffered(), so claiming again here
     * would run a whole backlog in one promise chain.
     */
    protected async fetch(): Promise<void> {
        this.fetching = true;
        let again = false;
        try {
            this.wanted = false;
            const limit = this.capacity();
            const maxBytes = claimByteBudget(heldBytes(this.running, this.buffer) + this.settling.total, this.options.prefetchBytes, this.channelOptions.maxMessageSize);
            this.overBudget = maxBytes <= 0;
            if (limit <= 0 || maxBytes <= 0 || this.stopped) return;
            const claimed = await this.context.storage.claim(this.channel, this.id, limit, this.channelOptions.lease, maxBytes);
            this.buffer.push(...claimed);
            if (this.stopped) return;
            // A full batch means more may be waiting: claim again once a slot frees up. A short one
            // drained the channel; that holds before the callbacks run, whose end must not claim again.
            // A batch cut short by maxBytes is full too: the next message may not have fit.
            const full = claimed.length === limit || heldBytes([], claimed) > maxBytes - this.channelOptions.maxMessageSize;
            if (!full && !this.wanted) this.drained = true;
            this.startBuffered();
            // Every callback of this claim ran synchronously: write their settlements in this turn.
            // Kept until the next turn, they are what V8's young-generation collections find alive,
            // and that copying makes V8 grow its young generation during a long drain.
            if (!this.running.length && !this.buffer.length) this.context.settlements.flushNow();
            if (full) again = true;
            else if (this.drained) await this.scheduleNextPoll();
            // A wake-up that came in meanwhile also claims again.
            again ||= this.wanted;
        } catch (error) {
            this.context.logger.error(`Queue consumer of channel '${this.channel}' could not claim messages; retrying in ${this.context.pollInterval}ms:`, error);
            this.schedulePoll(this.context.pollInterval);
        } finally {
            this.fetching = false;
            this.notifyIdle();
        }
        if (again) this.wake();
    }

    protected async scheduleNextPoll(): Promise<void> {
        const next = await this.context.storage.nextAvailableIn(this.channel);
        this.schedulePoll(next === undefined ? this.context.pollInterval : Math.min(this.context.pollInterval, next));
    }

    protected schedulePoll(delay: number): void {
        if (this.stopped) return;
        clearTimeout(this.pollTimer);
        this.pollTimer = setTimeout(() => this.wake(), Math.max(1, delay));
    }

    protected startBuffered(): void {
        // A callback that finishes synchronously comes back here through finish(): this loop goes on instead.
        if (this.starting) return;
        this.starting = true;
        try {
            while (!this.stopped && !this.alone && this.running.length < this.options.maxParallel && this.buffer.length && !this.unsettledFull()) {
                if (this.buffer[0].recordStart) {
                    // It was with a worker that died and may have killed it: it waits for the running ones,
                    // then runs alone, so that a crash counts for it and no other.
                    if (!this.running.length) this.startAlone(this.buffer.shift()!);
                    break;
                }
                this.process(this.buffer.shift()!);
            }
        } finally {
            this.starting = false;
        }
        // Held back until results commit: write them now rather than in the next turn of the event loop.
        if (this.buffer.length && this.unsettledFull()) this.context.settlements.flushNow();
    }

    /** Records the start (group-committed with the settlements), and only then runs the callback. */
    protected startAlone(claimed: ClaimedMessage): void {
        this.alone = claimed;
        // Running while its start is recorded: renewed, waited for by stop(), handed back by abandon().
        this.running.push(new RunningMessage(claimed, performance.now()));
        this.context.settlements.push({ kind: 'start', id: claimed.id, consumerId: this.id }, this.startRecorded);
    }

    protected readonly startRecorded: BatchWaiter<Settlement, MessageId | undefined> = {
        done: (settlement, lost) => {
            if (lost !== undefined) this.context.logger.warn(`Queue message ${settlement.id} of channel '${this.channel}' was reclaimed from this consumer before it started; it will be delivered again.`);
            this.afterStartRecord(lost === undefined);
        },
        failed: (settlement, error) => {
            // Not started: the lease runs out and the message is delivered again, without using an attempt.
            this.context.logger.error(`Queue message ${settlement.id} of channel '${this.channel}' could not record its start; it will be delivered again:`, error);
            this.afterStartRecord(false);
        },
    };

    protected afterStartRecord(recorded: boolean): void {
        const claimed = this.alone!;
        const index = this.running.findIndex(v => v.claimed === claimed);
        // Abandoned meanwhile (shutdown timeout): already handed back.
        if (index < 0) return;
        const run = this.running[index];
        if (recorded && !this.stopped) return this.process(claimed, run);
        this.running.splice(index, 1);
        this.alone = undefined;
        // Stopped meanwhile: handed back unstarted.
        if (recorded) this.settle({ kind: 'release', id: claimed.id, consumerId: this.id });
        this.notifyIdle();
        this.startBuffered();
    }

    /** Starts the callback of one message: `started` already holds its slot (a recorded start). */
    protected process(claimed: ClaimedMessage, started?: RunningMessage): void {
        const observation = this.context.instrumentation?.process?.(claimed);
        if (observation) {
            // The callback runs in the observer's context (a trace span, a Stopwatch frame); complete() tells it the outcome.
            const run = observeRun(claimed, observation, this.running, started);
            observation.run(() => this.runCallback(run));
            return;
        }
        let run = started;
        if (!run) this.running.push(run = new RunningMessage(claimed, performance.now()));
        this.runCallback(run);
    }

    /**
     * Runs the callback of one message and settles it. Not an async function:
     * a synchronous callback costs no promise at all, an asynchronous one the
     * one `then` it needs; at tens of thousands of messages a second, every
     * object per message shows in the worker's memory.
     */
    protected runCallback(run: RunningMessage): void {
        const claimed = run.claimed;
        let message: BrokerQueueMessage<T>;
        try {
            const data = this.codec.decode(claimed.payload);
            message = new BrokerQueueMessage(claimed.id, claimed.channel, data, claimed.attempt, claimed.maxAttempts, claimed.priority, claimed.producedAt, run);
            if (claimed.scheduledAt) message.scheduledAt = claimed.scheduledAt;
        } catch (error) {
            // Retrying cannot help an undecodable payload: keep it as failed for an operator.
            const text = error instanceof QueueDecodeError ? error.message : String(error);
            this.context.logger.error(`Queue message ${claimed.id} of channel '${this.channel}' failed: ${text}`);
            this.finish(run, { kind: 'fail', id: claimed.id, consumerId: this.id, error: text }, error);
            return;
        }
        let result: Promise<void> | void;
        try {
            result = this.callback(message.data, message);
        } catch (error) {
            this.finish(run, this.failed(claimed, error), error);
            return;
        }
        if (isThenable(result)) {
            // Only an asynchronous callback can outlive its timeout: a synchronous one costs no timer.
            if (this.timeout !== undefined) run.startTimeout(this.timeout, this.timedOut);
            Promise.resolve(result).then(
                () => this.finish(run, this.succeeded(claimed, message)),
                error => this.finish(run, this.failed(claimed, error), error),
            );
        } else {
            this.finish(run, this.succeeded(claimed, message));
        }
    }

    /** A callback ran past its timeout: retry the message now, free the slot, and drop whatever the callback does later. */
    protected readonly timedOut = (run: RunningMessage): void => {
        const error = new QueueMessageAbortedError(`The callback of message ${run.claimed.id} timed out after ${this.timeout}ms`, 'timeout');
        const settlement = this.failed(run.claimed, error);
        run.abort(error);
        this.complete(run, settlement, error);
    };

    protected succeeded(claimed: ClaimedMessage, message: BrokerQueueMessage<T>): Settlement {
        if (message.rescheduleIn !== undefined) return { kind: 'reschedule', id: claimed.id, consumerId: this.id, delay: message.rescheduleIn };
        // A plain literal, not a spread of shared fields: the spread's objects ended up in V8's old
        // generation (sampling heap profile), a third of the old-space garbage of a long drain.
        return { kind: 'done', id: claimed.id, consumerId: this.id, retention: this.channelOptions.retention };
    }

    protected failed(claimed: ClaimedMessage, error: unknown): Settlement {
        // Our own abort reason: where it was created says nothing.
        const text = error instanceof QueueMessageAbortedError ? `${error.name}: ${error.message}` : describeError(error);
        if (claimed.attempt >= claimed.maxAttempts) {
            this.context.logger.warn(`Queue message ${claimed.id} of channel '${this.channel}' failed its last attempt (${claimed.attempt}/${claimed.maxAttempts}): ${text}`);
            return { kind: 'fail', id: claimed.id, consumerId: this.id, error: text };
        }
        return { kind: 'retry', id: claimed.id, consumerId: this.id, error: text, delay: backoffDelay(this.channelOptions.backoff, claimed.attempt) };
    }

    /** The callback returned or threw. Nothing is settled when the run was aborted (timed out, abandoned). */
    protected finish(run: RunningMessage, settlement: Settlement, error?: unknown): void {
        if (run.finish()) this.complete(run, settlement, error);
    }

    /** `error`: what the callback threw, or why it was aborted; only an observer hears it. */
    protected complete(run: RunningMessage, settlement: Settlement, error?: unknown): void {
        if (run instanceof ObservedRun) run.end(settlement.kind, error);
        const took = performance.now() - run.started;
        this.averageCallbackMs = this.averageCallbackMs === undefined ? took : this.averageCallbackMs * 0.9 + took * 0.1;
        this.free(run, settlement);
    }

    /** Frees the run's slot, settles it (nothing when its lease is gone) and starts what waits. */
    protected free(run: RunningMessage, settlement?: Settlement): void {
        // At most maxParallel entries; the order does not matter.
        const index = this.running.indexOf(run);
        if (index < 0) return;
        this.running[index] = this.running[this.running.length - 1];
        this.running.pop();
        if (run.claimed === this.alone) this.alone = undefined;
        // The slot is free before the settlement commits: settlements of many callbacks share one
        // transaction. A crash in between means a redelivery, bounded by unsettledFull().
        if (settlement) this.settle(settlement, run.claimed.payload.byteLength);
        this.notifyIdle();
        this.startMore();
    }

    protected unsettledFull(): boolean {
        return this.running.length + this.settling.count >= this.options.maxParallel + this.options.maxUnsettled;
    }

    protected startMore(): void {
        if (!this.stopped) {
            this.startBuffered();
            // Refill at half: one claim then brings many messages instead of one each time.
            // Not when the channel was drained: an idle consumer would claim nothing after every
            // message, and a wake-up arriving meanwhile would wait for that round trip.
            if (this.wanted || (!this.drained && this.buffer.length <= Math.floor(this.prefetch() / 2))) this.wake();
        }
    }

    /** `bytes`: the payload size, counted as held until the settlement commits. */
    protected settle(settlement: Settlement, bytes = 0): void {
        this.settling.push(bytes);
        this.context.settlements.push(settlement, this.settled);
    }

    /** A settlement committed or failed: a callback held back by unsettledFull(), or a claim by the byte budget, may go on. */
    protected settledOne(): void {
        const full = this.unsettledFull();
        this.settling.shift();
        if (full && this.buffer.length) this.startMore();
        if (this.overBudget) this.wake();
    }

    /** Hears each settlement's outcome; one object per consumer, not a promise per message. */
    protected readonly settled: BatchWaiter<Settlement, MessageId | undefined> = {
        done: (settlement, lost) => {
            this.settledOne();
            if (lost === undefined) return;
            this.context.logger.warn(`Queue message ${settlement.id} of channel '${this.channel}' was reclaimed from this consumer before it settled (lease expired?); its result '${settlement.kind}' was dropped and it will be delivered again.`);
        },
        failed: (settlement, error) => {
            this.settledOne();
            // The lease stays with us until it expires; then the message is delivered again.
            this.context.logger.error(`Queue message ${settlement.id} of channel '${this.channel}' could not be settled as '${settlement.kind}':`, error);
        },
    };

    /**
     * Settled by this consumer outside the settlement batcher while the renewal waited (a transactional
     * callback's ack commits while the renewal waits for the write lock): no lost lease.
     */
    protected settledMeanwhile(_id: MessageId): boolean {
        return false;
    }

    /** Renews now, or once more after the renewal under way (a cancel announced meanwhile). */
    protected renewNow(): void {
        if (this.renewStopped) return;
        if (this.renewing) {
            this.renewAgain = true;
            return;
        }
        this.renewing = this.renew().finally(() => {
            this.renewing = undefined;
            if (!this.renewAgain) return;
            this.renewAgain = false;
            this.renewNow();
        });
    }

    protected async renew(): Promise<void> {
        const ids = this.running.map(v => v.claimed.id).concat(this.buffer.map(v => v.id));
        try {
            const notRenewed = await this.context.storage.renewLeases(this.id, ids, this.channelOptions.lease);
            // A message settled during the round trip is not renewed either (PostgreSQL): only one
            // this consumer still holds was taken over. A settled one left running and buffer first.
            const held = notRenewed.length ? new Set(this.running.map(v => v.claimed.id).concat(this.buffer.map(v => v.id))) : undefined;
            const lost = held ? notRenewed.filter(id => held.has(id) && !this.settledMeanwhile(id)) : notRenewed;
            if (lost.length) {
                const lostSet = new Set(lost);
                this.buffer = this.buffer.filter(v => !lostSet.has(v.id));
                await abortLostRuns(this.context, this.channel, this.running, lost, run => this.free(run));
            }
        } catch (error) {
            this.context.logger.error(`Queue consumer of channel '${this.channel}' could not renew its leases:`, error);
        }
    }
}

function isThenable(value: unknown): value is PromiseLike<void> {
    return typeof value === 'object' && value !== null && typeof (value as PromiseLike<void>).then === 'function';
}

function describeError(error: unknown): string {
    if (error instanceof Error) return error.stack || `${error.name}: ${error.message}`;
    return String(error);
}
