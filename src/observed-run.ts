import { performance } from 'perf_hooks';
import { QueueMessageAbortedError } from './errors';
import { CallbackObservation } from './instrumentation';
import { RunningMessage } from './running-message';
import { ClaimedMessage, Settlement } from './storage';

/**
 * A run whose callback an instrumentation observes (`QueueInstrumentation.process`).
 * The observation hears the outcome exactly once: the settlement the consumer
 * makes of the run, or `'release'` when the shutdown timeout hands it back
 * (an aborted run settles nothing). A timed-out run is settled by the consumer
 * (a failed attempt), so it ends there; a lost lease ends as `'release'` (another
 * consumer has it), a cancelled one as `'fail'` (kept as failed, 'cancelled').
 */
export class ObservedRun extends RunningMessage {
    protected observed = false;
    /** When the callback was handed the message; `started` may be earlier (a recorded start waits for its commit). */
    protected readonly observedFrom = performance.now();

    constructor(claimed: ClaimedMessage, started: number, readonly observation: CallbackObservation) {
        super(claimed, started);
    }

    /** The run settles as `kind`; `error` is what the callback threw (or why it was aborted). */
    end(kind: Settlement['kind'], error?: unknown): void {
        if (this.observed) return;
        this.observed = true;
        this.observation.end(kind, performance.now() - this.observedFrom, error);
    }

    override abort(reason: QueueMessageAbortedError): void {
        super.abort(reason);
        // A timed-out run is settled by the consumer; the others settle nothing here.
        if (reason.kind === 'shutdown' || reason.kind === 'leaseLost') this.end('release', reason);
        else if (reason.kind === 'cancelled') this.end('fail', reason);
    }
}

/**
 * The run of a message about to be handed to its callback: observed when the
 * instrumentation wants it. `started` is the run that already holds its slot
 * (a recorded start), which it replaces in `running`.
 */
export function observeRun(claimed: ClaimedMessage, observation: CallbackObservation, running: RunningMessage[], started?: RunningMessage): ObservedRun {
    const run = new ObservedRun(claimed, started?.started ?? performance.now(), observation);
    const index = started ? running.indexOf(started) : -1;
    if (index < 0) running.push(run);
    else running[index] = run;
    return run;
}
