import { ClaimedMessage, EnqueueRequest, Settlement } from './storage';

/** How one callback run is observed: inside what context it runs, and what happens when it ends. */
export interface CallbackObservation {
    /** Runs the callback inside the observer's context (an active trace span, a Stopwatch frame). Calls `callback` exactly once. */
    run<R>(callback: () => R): R;
    /**
     * The callback finished (or its payload could not be decoded, or it timed out): how it settles, how long it
     * took, and its error if it threw. `'release'` when the shutdown timeout abandoned it (its late result settles
     * nothing); never `'start'`, which only records that a callback starts.
     */
    end(outcome: Settlement['kind'], durationMs: number, error?: unknown): void;
}

/**
 * A hook for metrics, tracing and profiling around the queue's two hot paths.
 * Every method is optional and may return undefined to stay out of the way;
 * with no instrumentation the queue does no extra work at all.
 */
export interface QueueInstrumentation {
    /**
     * A `produce()` or `produceMany()` call is about to be stored. May add `headers`
     * to the requests (e.g. the trace context). Returns what to call once the
     * commit succeeded (no error) or failed.
     */
    produce?(channel: string, requests: EnqueueRequest[]): ((error?: unknown) => void) | undefined;

    /** A claimed message is about to be decoded and handed to its callback. */
    process?(message: ClaimedMessage): CallbackObservation | undefined;
}

/** One instrumentation out of several; undefined when there is none. Contexts nest in list order; ends run innermost first. */
export function combineInstrumentation(list: (QueueInstrumentation | undefined)[]): QueueInstrumentation | undefined {
    const all = list.filter((v): v is QueueInstrumentation => !!v);
    if (all.length <= 1) return all[0];
    const producers = all.filter(v => v.produce);
    const processors = all.filter(v => v.process);
    return {
        produce: producers.length ? (channel, requests) => {
            const ends = producers.map(v => v.produce!(channel, requests)).filter(v => !!v);
            return ends.length ? error => { for (const end of ends.reverse()) end!(error); } : undefined;
        } : undefined,
        process: processors.length ? message => {
            const observations = processors.map(v => v.process!(message)).filter((v): v is CallbackObservation => !!v);
            if (observations.length <= 1) return observations[0];
            return {
                run: callback => observations.reduceRight<() => any>((inner, observation) => () => observation.run(inner), callback)(),
                end: (outcome, durationMs, error) => {
                    for (let i = observations.length - 1; i >= 0; i--) observations[i].end(outcome, durationMs, error);
                },
            };
        } : undefined,
    };
}
