/** Hears the result of one item of a batch. */
export interface BatchWaiter<I, O> {
    done(item: I, result: O): void;
    failed(item: I, error: unknown): void;
}

/**
 * Group commit: items added while a flush is running, or within the same
 * turn of the event loop, are written together by one `flush` call (one
 * transaction), and each caller gets its own result. At most one flush runs
 * at a time, so under load batches grow instead of transactions queueing up.
 */
export class Batcher<I, O> {
    protected items: I[] = [];
    protected waiters: BatchWaiter<I, O>[] = [];
    protected flushing?: Promise<void>;
    protected scheduled = false;

    constructor(
        protected readonly flush: (items: I[]) => Promise<O[]>,
        protected readonly maxBatch = 1000,
    ) {
    }

    add(item: I): Promise<O> {
        return new Promise<O>((resolve, reject) => this.push(item, { done: (_, result) => resolve(result), failed: (_, error) => reject(error) }));
    }

    /**
     * `add` without a promise: `waiter` hears the result. For hot paths that
     * add one item per message: a shared waiter costs nothing per item.
     */
    push(item: I, waiter: BatchWaiter<I, O>): void {
        this.items.push(item);
        this.waiters.push(waiter);
        this.schedule();
    }

    /**
     * Writes what was added now rather than in the next turn of the event loop, unless a flush
     * is running (what waits then follows it). For a caller that knows no more will join.
     */
    flushNow(): void {
        if (!this.flushing) this.run();
    }

    /** Resolves when everything added so far is written (or failed). */
    async drain(): Promise<void> {
        while (this.flushing || this.items.length) {
            if (!this.flushing) this.run();
            await this.flushing;
        }
    }

    protected schedule(): void {
        if (this.flushing || this.scheduled) return;
        this.scheduled = true;
        // setImmediate, not a microtask: lets every caller that is ready in this turn join the batch.
        setImmediate(() => {
            this.scheduled = false;
            if (!this.flushing) this.run();
        });
    }

    protected run(): void {
        const items = this.items.splice(0, this.maxBatch);
        const waiters = this.waiters.splice(0, items.length);
        if (!items.length) return;
        this.flushing = this.flush(items).then(results => {
            for (let i = 0; i < waiters.length; i++) tell(() => waiters[i].done(items[i], results[i]));
        }, error => {
            for (let i = 0; i < waiters.length; i++) tell(() => waiters[i].failed(items[i], error));
        }).finally(() => {
            this.flushing = undefined;
            if (this.items.length) this.schedule();
        });
    }
}

/**
 * A waiter that throws (its logger, say) must not keep the rest of the batch from
 * their results, nor reject the flush, which nobody awaits: the process would exit.
 */
function tell(notify: () => void): void {
    try {
        notify();
    } catch {
        // Nothing else can be told: the write itself is done.
    }
}
