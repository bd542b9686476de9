/** Keeps errors, drops the chatter, so a worker's stdout carries only its results. */
export const silentLogger = {
    error: (...args: any[]) => console.error(...args),
    warn: () => undefined,
    log: () => undefined,
    debug: () => undefined,
};
