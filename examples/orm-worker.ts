// The worker: the callback's writes and the ack commit in one transaction, so
// each registration gets exactly one welcome-mail row, even if a worker is
// killed at any moment. (Sending the mail itself is not a database write: do
// that from the row, idempotently, or accept at-least-once for it.)
// Run: node -r ts-node/register examples/orm-worker.ts   (stop it with Ctrl+C or SIGTERM)
import { App } from '@deepkit/app';
import { Logger } from '@deepkit/logger';
import { BrokerQueueModule } from '../src';
import { RegistrationChannel, registrationChannelProvider } from './channels';
import { AppDatabase, WelcomeMail } from './orm-database';

async function consumerCommand(registrationChannel: RegistrationChannel, database: AppDatabase, logger: Logger) {
    await database.migrate();
    await registrationChannel.consume(async (user, message, session) => {
        session.add(new WelcomeMail(user.id));
        logger.log(`Welcome mail for ${user.username} (message ${message.id}, attempt ${message.attempt})`);
    }, { database });
    logger.log(`Worker is consuming '${registrationChannel.name}'`);
}

const app = new App({
    providers: [AppDatabase, registrationChannelProvider],
    imports: [new BrokerQueueModule({}).forDatabase(AppDatabase)],
});
app.command('consumer', consumerCommand);
void app.run(['consumer']);
