import { App } from '@deepkit/app';
import { FrameCategory, FrameType, Stopwatch, StopwatchStore } from '@deepkit/stopwatch';
import { AsyncLocalStorage } from 'async_hooks';
import { BrokerQueue, BrokerQueueModule } from '../../src';
import { tempDir } from '../support/temp';
import { deferred } from '../support/wait';

/** A profiler store that keeps frames in memory (FrameworkModule's own writes them to var/debug for the debugger). */
class MemoryStopwatchStore extends StopwatchStore {
    readonly frames: any[] = [];
    protected readonly zone = new AsyncLocalStorage<{ [name: string]: any }>();

    override add(frame: any): void {
        this.frames.push(frame);
    }

    run<T>(data: { [name: string]: any }, cb: () => T): T {
        return this.zone.run(data, cb);
    }

    getZone(): { [name: string]: any } | undefined {
        return this.zone.getStore();
    }
}

async function runCallbacks(profile: boolean) {
    const dir = tempDir();
    const store = new MemoryStopwatchStore();
    const app = new App({
        providers: [{ provide: StopwatchStore, useValue: store }],
        imports: [new BrokerQueueModule({ sqlitePath: dir.file('q.sqlite'), handleSignals: false })],
    });
    // What FrameworkModule does with `debug` or `profile` on (it enables or disables the app's Stopwatch).
    const stopwatch = app.get(Stopwatch);
    if (profile) stopwatch.enable();
    const frames = store.frames;
    const queue = app.get(BrokerQueue);
    try {
        // `store` is protected in its declaration, public in fact: the app's Stopwatch writes to the store provided.
        expect((stopwatch as unknown as { store: StopwatchStore }).store).toBe(store);
        const channel = queue.channel<number>('reports/monthly');
        await channel.produceMany([1, 2]);
        const done = deferred();
        let seen = 0;
        const release = await channel.consume(() => {
            // A frame started inside the callback belongs to the job's context.
            stopwatch.start('render pdf', FrameCategory.function).end();
            if (++seen === 2) setImmediate(done.resolve);
        });
        await done.promise;
        await release();
        return { active: stopwatch.active, frames };
    } finally {
        await queue.close();
        dir.remove();
    }
}
test('with profile on, each callback is a Stopwatch frame of category job, and frames started inside it nest in its context', async () => {
    const { active, frames } = await runCallbacks(true);
    expect(active).toBe(true);
    const jobs = frames.filter(v => v.type === FrameType.start && v.category === FrameCategory.job);
    expect(jobs.map(v => v.label)).toEqual(['reports/monthly', 'reports/monthly']);
    const inner = frames.filter(v => v.type === FrameType.start && v.label === 'render pdf');
    expect(inner.map(v => v.context).sort()).toEqual(jobs.map(v => v.context).sort());
    expect(frames.filter(v => v.type === FrameType.end).length).toBeGreaterThanOrEqual(4);
});

test('with profile off, there are no job frames', async () => {
    const { active, frames } = await runCallbacks(false);
    expect(active).toBe(false);
    expect(frames.filter(v => v.category === FrameCategory.job)).toEqual([]);
});
