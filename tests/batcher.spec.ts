import { Batcher } from '../src/batcher';

describe('batcher', () => {
    test('concurrent adds share one flush, and each caller gets its own result', async () => {
        const flushed: number[][] = [];
        const batcher = new Batcher<number, string>(async items => {
            flushed.push(items);
            return items.map(v => `r${v}`);
        });
        expect(await Promise.all([1, 2, 3].map(v => batcher.add(v)))).toEqual(['r1', 'r2', 'r3']);
        expect(flushed).toEqual([[1, 2, 3]]);
    });

    test('a waiter that throws does not keep the others of its batch from their results', async () => {
        const batcher = new Batcher<number, string>(async items => items.map(v => `r${v}`));
        const heard: string[] = [];
        batcher.push(1, { done: () => { throw new Error('a logger that throws'); }, failed: () => undefined });
        batcher.push(2, { done: (_, result) => heard.push(result), failed: () => undefined });
        const third = batcher.add(3);
        await batcher.drain();
        expect(heard).toEqual(['r2']);
        await expect(third).resolves.toBe('r3');
    });
});
