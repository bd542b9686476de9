import { Database } from '@deepkit/orm';
import { BrokerQueue, BrokerQueueOptions, queueAdapterFor } from '../../src';
import { Backend, openAppDatabase } from '../fixtures/orm-app';
import { Child } from './child';
import { MemoryLogger } from './logger';

export interface AppQueue {
    database: Database;
    queue: BrokerQueue;
    /** Closes the queue, then the database. */
    close(): Promise<void>;
}

/** The app's ORM database, migrated, and a connected queue stored in it: the setup of the ORM process tests. */
export async function openAppQueue(backend: Backend, target: string, options: Omit<BrokerQueueOptions, 'logger'> = {}): Promise<AppQueue> {
    const database = openAppDatabase(backend, target);
    await database.migrate();
    const queue = new BrokerQueue(queueAdapterFor(database), { logger: new MemoryLogger(), ...options });
    await queue.connect();
    return {
        database, queue, async close() {
            await queue.close();
            database.disconnect(true);
        },
    };
}

/** Kills the children (a stopped one is continued first, so it can die) and waits for their exits. */
export async function killChildren(children: (Child | undefined)[]): Promise<void> {
    for (const child of children) {
        if (!child) continue;
        child.kill('SIGCONT');
        child.kill();
        await child.exited;
    }
}
