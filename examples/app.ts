// The application: serves POST /users and produces into the registration channel.
// Run: node -r ts-node/register examples/app.ts server:start
//      curl -X POST localhost:8080/users -H 'content-type: application/json' -d '{"id":1,"username":"Peter"}'
import { App } from '@deepkit/app';
import { FrameworkModule } from '@deepkit/framework';
import { http, HttpBody } from '@deepkit/http';
import { BrokerQueueModule } from '../src';
import { RegistrationChannel, registrationChannelProvider, User } from './channels';

class Service {
    constructor(private channel: RegistrationChannel) {}
    async registerUser(user: User) {
        // The docs' snippet only awaits produce(); returning its result lets the route say whether it was a duplicate.
        return await this.channel.produce(user);
    }
}

class UserController {
    constructor(private service: Service) {}

    @http.POST('/users')
    async register(user: HttpBody<User>) {
        // exactlyOnce: the same user again within the deduplication interval is not enqueued twice.
        const { deduplicated } = await this.service.registerUser(user);
        return { registered: user.id, deduplicated };
    }
}

const app = new App({
    controllers: [UserController],
    providers: [Service, registrationChannelProvider],
    imports: [new FrameworkModule({}), new BrokerQueueModule({ /* config, e.g. sqlitePath: 'var/queue.sqlite' */ })],
});
app.loadConfigFromEnv(); // e.g. APP_FRAMEWORK_PORT=8081 APP_BROKER_QUEUE_SQLITE_PATH=/tmp/queue.sqlite
void app.run();
