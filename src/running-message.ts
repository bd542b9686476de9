import { QueueMessageAbortedError } from './errors';
import { ClaimedMessage } from './storage';

/**
 * One message whose callback runs: owns its `message.signal` and its timeout
 * timer. Aborting ends the run: the callback's own result is dropped, since
 * whoever aborted has already decided what becomes of the message.
 *
 * The AbortController is created only when the callback reads
 * `message.signal` or an abort happens: most callbacks never look, and at tens
 * of thousands of messages a second every object per message shows.
 */
export class RunningMessage {
    /** Set by an abort: the callback's result settles nothing. */
    ended = false;
    protected controller?: AbortController;
    protected reason?: QueueMessageAbortedError;
    protected timer?: NodeJS.Timeout;

    constructor(readonly claimed: ClaimedMessage, readonly started: number) {
    }

    get signal(): AbortSignal {
        if (!this.controller) {
            this.controller = new AbortController();
            if (this.reason) this.controller.abort(this.reason);
        }
        return this.controller.signal;
    }

    /** Calls `onTimeout` once `ms` passes unless the callback finishes first. */
    startTimeout(ms: number, onTimeout: (run: RunningMessage) => void): void {
        this.timer = setTimeout(onTimeout, ms, this);
    }

    /** Ends the run and aborts `message.signal`; the first reason wins. */
    abort(reason: QueueMessageAbortedError): void {
        clearTimeout(this.timer);
        this.ended = true;
        if (this.reason) return;
        this.reason = reason;
        this.controller?.abort(reason);
    }

    /** The callback returned or threw. True when its result is still to be settled. */
    finish(): boolean {
        clearTimeout(this.timer);
        return !this.ended;
    }
}
