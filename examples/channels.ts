// Channel definitions shared by the worker and the app.
import { provide } from '@deepkit/injector';
import { BrokerQueue, BrokerQueueChannel, provideSchedule, QueueMessageProcessing } from '../src';

export type User = { id: number, username: string };

export type RegistrationChannel = BrokerQueueChannel<User>;
export const registrationChannelProvider = provide<RegistrationChannel>((queue: BrokerQueue) => queue.channel<User>('user/registered', {
    process: QueueMessageProcessing.exactlyOnce,
    deduplicationInterval: '1s',
}));

// A nightly job next to it: at 03:00 Berlin time, one message however many workers run.
export type NightlyReport = { report: 'new-users' };
export type NightlyReportChannel = BrokerQueueChannel<NightlyReport>;
// concurrency: 1 — at most one report runs at a time over every worker process and host (flow control, stored
// in the database); `node app.ts queue:pause reports/nightly` holds them, queue:resume lets them run again.
export const nightlyReportChannelProvider = provide<NightlyReportChannel>((queue: BrokerQueue) => queue.channel<NightlyReport>('reports/nightly', { concurrency: 1 }));
// Upserted by BrokerQueueModule when a command starts; declared again at every start, it keeps its next run.
export const nightlyReportSchedule = provideSchedule<NightlyReportChannel>('nightly-new-users', { cron: '0 3 * * *', timezone: 'Europe/Berlin' }, { report: 'new-users' });
