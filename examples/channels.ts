// Channel definitions shared by the worker and the app.
import { provide } from '@deepkit/injector';
import { BrokerQueue, BrokerQueueChannel, QueueMessageProcessing } from '../src';

export type User = { id: number, username: string };

export type RegistrationChannel = BrokerQueueChannel<User>;
export const registrationChannelProvider = provide<RegistrationChannel>((queue: BrokerQueue) => queue.channel<User>('user/registered', {
    process: QueueMessageProcessing.exactlyOnce,
    deduplicationInterval: '1s',
}));
