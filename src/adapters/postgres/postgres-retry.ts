import { isConnectionError } from './postgres-errors';

/**
 * Runs `operation` again after a connection error (the server unreachable,
 * starting up or shutting down), 50 ms later, doubling to at most 1 s, until
 * `timeout` ms have passed. Other errors, and the last one, are thrown as
 * they are. Only for operations that change nothing when their connection is
 * lost: opening a connection, a migration (one transaction), LISTEN.
 */
/** The wait before try `attempt + 1` after a lost or refused connection: 50 ms, doubling, at most 1 s. */
export function reconnectDelay(attempt: number): number {
    return Math.min(1000, 50 * 2 ** attempt);
}

export async function retryWhileUnreachable<R>(timeout: number, operation: () => Promise<R>): Promise<R> {
    const deadline = Date.now() + timeout;
    for (let attempt = 0; ; attempt++) {
        try {
            return await operation();
        } catch (error) {
            const wait = reconnectDelay(attempt);
            if (!isConnectionError(error) || Date.now() + wait > deadline) throw error;
            await new Promise(resolve => setTimeout(resolve, wait));
        }
    }
}
