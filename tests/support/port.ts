import { createServer } from 'net';

/** A TCP port free right now on 127.0.0.1, for a child's HTTP server. */
export function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
            const port = (server.address() as { port: number }).port;
            server.close(() => resolve(port));
        }).on('error', reject);
    });
}
