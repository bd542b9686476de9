// The worker: a separate App that consumes the registration channel and the nightly report.
// Run: node -r ts-node/register examples/worker.ts   (stop it with Ctrl+C or SIGTERM)
import { App } from '@deepkit/app';
import { FrameworkModule } from '@deepkit/framework';
import { BrokerQueueModule } from '../src';
import { NightlyReportChannel, nightlyReportChannelProvider, nightlyReportSchedule, RegistrationChannel, registrationChannelProvider } from './channels';
import { Database } from './database';

const workerName = process.env.WORKER_NAME ?? `worker-${process.pid}`;

async function consumerCommand(channel: RegistrationChannel, database: Database, reports: NightlyReportChannel) {
    // Any worker may get the nightly tick; the schedule enqueues it once.
    await reports.consume(async (job, message) => {
        console.log(`Nightly report: ${job.report} for ${message.scheduledAt?.toISOString()} worker=${workerName}`);
    });
    await channel.consume(async (user) => {
        await database.storeUser(user);
        console.log(`User registered: id=${user.id} username=${user.username} worker=${workerName}`);
    });
    console.log(`${workerName} is consuming '${channel.name}'`);
    // The open queue connection keeps the process alive.
}

const app = new App({
    providers: [Database, registrationChannelProvider, nightlyReportChannelProvider, nightlyReportSchedule],
    imports: [new FrameworkModule({}), new BrokerQueueModule({ /* config, e.g. sqlitePath: 'var/queue.sqlite' */ })],
});
app.loadConfigFromEnv(); // e.g. APP_BROKER_QUEUE_SQLITE_PATH=/tmp/queue.sqlite
app.command('consumer', consumerCommand);
void app.run(['consumer']); // start the worker command directly
// (the upstream docs write app.run('consumer'); @deepkit/app 1.0.19 takes an argv array)
