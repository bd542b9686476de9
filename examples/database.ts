import { User } from './channels';

/**
 * A stand-in for your database: keeps users in memory. `EXAMPLE_DB_LATENCY_MS`
 * makes every write that slow, to watch work spread over several workers.
 */
export class Database {
    protected users = new Map<number, User>();
    protected readonly latency = Number(process.env.EXAMPLE_DB_LATENCY_MS ?? 0);

    async storeUser(user: User): Promise<void> {
        if (this.latency) await new Promise(resolve => setTimeout(resolve, this.latency));
        this.users.set(user.id, user);
    }
}
