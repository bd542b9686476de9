import { eventDispatcher } from '@deepkit/event';
import { onServerBootstrap, onServerShutdown } from '@deepkit/framework';
import { BrokerQueueLifecycle } from './lifecycle';

/**
 * Ties the lifecycle to `@deepkit/framework`'s application server
 * (`server:start`, `ApplicationServer.close()`): on its shutdown, consumers
 * drain while the framework waits for its listeners, before its own signal
 * handler exits the process.
 *
 * BrokerQueueModule adds it only when the app imports FrameworkModule:
 * loading `@deepkit/framework` takes about a second and creates `./var/debug`,
 * and a worker without it must not pay for that.
 */
export class BrokerQueueServerListener {
    constructor(protected readonly lifecycle: BrokerQueueLifecycle) {
    }

    @eventDispatcher.listen(onServerBootstrap)
    onServerBootstrap(): void {
        this.lifecycle.serverStarted();
    }

    @eventDispatcher.listen(onServerShutdown)
    async onServerShutdown(): Promise<void> {
        await this.lifecycle.serverShutdown();
    }
}
