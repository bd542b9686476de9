/**
 * Polls a condition until it holds or the deadline passes. For conditions no
 * event announces (a row in another process's database), never as a sleep.
 */
export async function waitFor<T>(condition: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeout = 10_000, interval = 10): Promise<T> {
    const deadline = Date.now() + timeout;
    for (;;) {
        const result = await condition();
        if (result) return result;
        if (Date.now() > deadline) throw new Error(`Timed out after ${timeout}ms waiting for ${what}`);
        await new Promise(resolve => setTimeout(resolve, interval));
    }
}

/** A promise with its resolve function, for callbacks that announce progress. */
export function deferred<T = void>() {
    let resolve!: (value: T) => void;
    let reject!: (error: unknown) => void;
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
    return { promise, resolve, reject };
}

/** Rejects naming `what` when the promise does not settle within `timeout` ms: a clear failure instead of jest's test timeout. */
export async function within<T>(promise: Promise<T>, timeout: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => timer = setTimeout(() => reject(new Error(`Timed out after ${timeout}ms waiting for ${what}`)), timeout));
    try {
        return await Promise.race([promise, expired]);
    } finally {
        clearTimeout(timer);
    }
}
