import { AddressInfo, createConnection, createServer, Server, Socket } from 'net';

export interface ProxiedConnection {
    client: Socket;
    upstream: Socket;
    frozen: boolean;
}

/**
 * A TCP proxy whose connections can be frozen: nothing passes any more and nothing is closed, as when a
 * NAT or firewall silently forgets a connection or the peer's host hangs. New connections pass.
 */
export class FreezableProxy {
    readonly connections: ProxiedConnection[] = [];
    /** While true, new connections are closed at once, as by a server that is restarting. */
    refusing = false;
    refused = 0;
    protected server?: Server;

    constructor(protected readonly target: { host: string, port: number }) {
    }

    async start(): Promise<number> {
        const server = this.server = createServer(client => {
            if (this.refusing) {
                this.refused++;
                client.destroy();
                return;
            }
            const upstream = createConnection(this.target);
            const connection: ProxiedConnection = { client, upstream, frozen: false };
            this.connections.push(connection);
            client.on('data', chunk => connection.frozen || upstream.write(chunk));
            upstream.on('data', chunk => connection.frozen || client.write(chunk));
            // A frozen connection tells neither side anything, not even that the other one closed.
            client.on('close', () => connection.frozen || upstream.destroy());
            upstream.on('close', () => connection.frozen || client.destroy());
            client.on('error', () => undefined);
            upstream.on('error', () => undefined);
        });
        await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve));
        return (server.address() as AddressInfo).port;
    }

    /** The local ports of the connections to the target: PostgreSQL shows them as `client_port`. */
    upstreamPorts(): number[] {
        return this.connections.filter(v => !v.upstream.destroyed && v.upstream.localPort).map(v => v.upstream.localPort!);
    }

    freeze(upstreamPort: number): void {
        const connection = this.connections.find(v => v.upstream.localPort === upstreamPort);
        if (!connection) throw new Error(`No proxied connection from port ${upstreamPort}`);
        connection.frozen = true;
        connection.client.pause();
        connection.upstream.pause();
    }

    async close(): Promise<void> {
        for (const { client, upstream } of this.connections) {
            client.destroy();
            upstream.destroy();
        }
        await new Promise(resolve => this.server ? this.server.close(resolve) : resolve(undefined));
    }
}
