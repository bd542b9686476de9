// The app: registers users. The user row and the message commit together, or neither does.
// Run: node -r ts-node/register examples/orm-app.ts register 1 10 [--rollback]
import { App, Flag } from '@deepkit/app';
import { Logger } from '@deepkit/logger';
import { BrokerQueueModule } from '../src';
import { RegistrationChannel, registrationChannelProvider } from './channels';
import { AppDatabase, RegisteredUser } from './orm-database';

class UserService {
    constructor(private database: AppDatabase, private registrationChannel: RegistrationChannel) {
    }

    async register(user: RegisteredUser, rollback = false): Promise<void> {
        const { database, registrationChannel } = this;
        await database.transaction(async session => {
            session.add(user);
            await registrationChannel.produce({ id: user.id, username: user.username }, { session });
            // Whatever fails before the commit takes the message with it.
            if (rollback) throw new Error(`Registration of ${user.username} rolled back`);
        });
    }
}

const app = new App({
    providers: [AppDatabase, UserService, registrationChannelProvider],
    imports: [new BrokerQueueModule({}).forDatabase(AppDatabase)],
});
app.command('register', async (first: number, count: number, rollback: boolean & Flag = false, service: UserService, database: AppDatabase, logger: Logger) => {
    await database.migrate();
    for (let id = first; id < first + count; id++) {
        try {
            await service.register(new RegisteredUser(id, `user${id}`), rollback);
            logger.log(`Registered user${id}`);
        } catch (error) {
            logger.log(String(error));
        }
    }
});
void app.run();
