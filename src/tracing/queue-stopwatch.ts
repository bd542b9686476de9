import { FrameCategory, Stopwatch } from '@deepkit/stopwatch';
import { CallbackObservation, QueueInstrumentation } from '../instrumentation';
import { ClaimedMessage, Settlement } from '../storage';

/**
 * Deepkit's profiler: each callback becomes a Stopwatch frame of category
 * `job`, labelled with the channel, in a context of its own (so the
 * database queries and HTTP calls it makes nest under it). Only while the
 * Stopwatch is active, i.e. the app runs with `debug` or `profile` on;
 * otherwise it costs one property read per message.
 */
export class QueueStopwatch implements QueueInstrumentation {
    constructor(protected readonly stopwatch: Stopwatch) {
    }

    process(message: ClaimedMessage): CallbackObservation | undefined {
        if (!this.stopwatch.active) return undefined;
        const frame = this.stopwatch.start(message.channel, FrameCategory.job, true);
        frame.data({ channel: message.channel, id: message.id, attempt: message.attempt } as any);
        return {
            run: callback => frame.run(callback) as ReturnType<typeof callback>,
            end: (outcome: Settlement['kind']) => {
                frame.data({ outcome } as any);
                frame.end();
            },
        };
    }
}
