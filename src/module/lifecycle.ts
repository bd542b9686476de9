import { onAppShutdown } from '@deepkit/app';
import { eventDispatcher } from '@deepkit/event';
import { QueueLogger } from '../consumer';
import { BrokerQueue } from '../queue';

export interface BrokerQueueLifecycleOptions {
    /** How long running callbacks may take to finish on shutdown, in milliseconds. */
    shutdownTimeout: number;
    /** Install SIGTERM/SIGINT handlers while consumers run. */
    handleSignals: boolean;
}

const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];

/**
 * Owns the shutdown of the module's queue.
 *
 * `@deepkit/app` 1.0.19 dispatches `onAppShutdown` as soon as a command
 * returns, and the docs' consumer command returns right after `consume()`.
 * So app shutdown disconnects the queue only when no consumer runs; while
 * consumers run, SIGTERM/SIGINT handlers are installed instead: on a signal,
 * consumers stop (running callbacks finish, up to `shutdownTimeout`), the
 * storage closes and the process exits with code 0 (1 when callbacks had to
 * be abandoned). When the last consumer is released after app shutdown, the
 * queue disconnects so the process can end on its own.
 *
 * Inside `server:start`, `@deepkit/framework` owns the signals: its handler
 * dispatches `onServerShutdown`, closes the HTTP server and exits with code 0
 * ten milliseconds later. There consumers are drained in `serverShutdown()`,
 * which that handler waits for, the storage stays open for the HTTP requests
 * still being served, and the exit code is corrected to 1 when callbacks had
 * to be abandoned.
 */
export class BrokerQueueLifecycle {
    protected queues = new Set<BrokerQueue>();
    protected appShutDown = false;
    protected inServer = false;
    protected draining?: Promise<number>;
    protected stopping?: Promise<number>;
    protected stopRequested = false;
    protected handlers = new Map<NodeJS.Signals, () => void>();

    constructor(protected readonly options: BrokerQueueLifecycleOptions, protected readonly logger: QueueLogger) {
    }

    /** Manages this queue's shutdown from now on. */
    attach(queue: BrokerQueue): BrokerQueue {
        this.queues.add(queue);
        queue.onConsumersChange(() => this.consumersChanged());
        return queue;
    }

    get activeConsumers(): number {
        let active = 0;
        for (const queue of this.queues) active += queue.activeConsumers;
        return active;
    }

    /** `onAppShutdown`: disconnect idle queues; running consumers keep the process alive until a signal. */
    async appShutdown(): Promise<void> {
        this.appShutDown = true;
        // A signal's stop closes the storage itself.
        if (this.stopping) return;
        if (this.activeConsumers) {
            this.logger.log(`Queue: ${this.activeConsumers} consumer(s) keep running until SIGTERM or SIGINT`);
            return;
        }
        await this.disconnectIdle();
    }

    /** Stops consumers (bounded by `shutdownTimeout`) and closes every queue. Resolves with the exit code to use. */
    stop(reason: string): Promise<number> {
        this.stopping ??= this.closeAll(reason);
        return this.stopping;
    }

    /** Stops consumers (bounded by `shutdownTimeout`) and writes what is pending; the storage stays open. Resolves with the exit code to use. */
    drain(reason: string): Promise<number> {
        // Set before drainAll() runs: stopping consumers calls consumersChanged() synchronously.
        this.stopRequested = true;
        this.draining ??= this.drainAll(reason);
        return this.draining;
    }

    /** `@deepkit/framework`'s application server started in this process. */
    serverStarted(): void {
        this.inServer = true;
    }

    /** `onServerShutdown`: drain consumers while the framework waits; its handler then exits with code 0, corrected here when callbacks were abandoned. */
    async serverShutdown(): Promise<void> {
        const code = await this.drain('the server is shutting down');
        if (!code) return;
        // An 'exit' listener still decides the exit code of a process.exit(0).
        process.once('exit', () => {
            if (!process.exitCode) process.exitCode = code;
        });
    }

    protected async drainAll(reason: string): Promise<number> {
        this.removeSignalHandlers();
        const active = this.activeConsumers;
        this.logger.log(`Queue: ${reason}; stopping ${active} consumer(s), waiting up to ${this.options.shutdownTimeout}ms for running callbacks`);
        const codes = await Promise.all([...this.queues].map(async queue => {
            try {
                if (await queue.stopConsumers(this.options.shutdownTimeout)) return 0;
                this.logger.warn(`Queue: callbacks still ran after the shutdown timeout of ${this.options.shutdownTimeout}ms; their messages were handed back for redelivery`);
            } catch (error) {
                this.logger.error('Queue: could not stop consumers cleanly:', error);
            }
            return 1;
        }));
        return Math.max(0, ...codes);
    }

    protected async closeAll(reason: string): Promise<number> {
        let code = await this.drain(reason);
        for (const queue of this.queues) {
            try {
                await queue.close();
            } catch (error) {
                this.logger.error('Queue: could not close the storage:', error);
                code = 1;
            }
        }
        this.logger.log(`Queue: stopped`);
        return code;
    }

    protected consumersChanged(): void {
        if (this.stopRequested) return;
        if (this.activeConsumers) {
            if (this.options.handleSignals) this.installSignalHandlers();
            return;
        }
        this.removeSignalHandlers();
        // The command returned long ago; nothing else will disconnect the queue.
        if (this.appShutDown) void this.disconnectIdle();
    }

    protected async disconnectIdle(): Promise<void> {
        for (const queue of this.queues) {
            if (queue.activeConsumers) continue;
            try {
                await queue.disconnect();
            } catch (error) {
                this.logger.error('Queue: could not disconnect the storage:', error);
            }
        }
    }

    protected installSignalHandlers(): void {
        if (this.handlers.size) return;
        for (const signal of signals) {
            const handler = () => void this.onSignal(signal);
            this.handlers.set(signal, handler);
            process.on(signal, handler);
        }
    }

    protected removeSignalHandlers(): void {
        for (const [signal, handler] of this.handlers) process.removeListener(signal, handler);
        this.handlers.clear();
    }

    protected async onSignal(signal: NodeJS.Signals): Promise<void> {
        // A second signal while draining: stop waiting.
        const second = () => {
            this.logger.warn(`Queue: received ${signal} again while stopping; exiting now, unfinished messages are delivered again`);
            this.exit(1);
        };
        for (const s of signals) process.once(s, second);
        // In a server, HTTP requests may still produce: the storage closes after them, at app shutdown.
        let code = this.inServer ? await this.drain(`received ${signal}`) : await this.stop(`received ${signal}`);
        for (const s of signals) process.removeListener(s, second);
        // Others listening for the signal (the framework's server, say) decide when the process ends.
        if (process.listenerCount(signal)) return;
        if (this.inServer) code = await this.stop(`received ${signal}`);
        this.exit(code);
    }

    protected exit(code: number): void {
        process.exit(code);
    }
}

/** Forwards `@deepkit/app`'s `onAppShutdown` to the lifecycle. */
export class BrokerQueueShutdownListener {
    constructor(protected readonly lifecycle: BrokerQueueLifecycle) {
    }

    @eventDispatcher.listen(onAppShutdown)
    async onShutdown(): Promise<void> {
        await this.lifecycle.appShutdown();
    }
}
