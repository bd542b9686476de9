import type { IncomingMessage } from 'http';

/**
 * The app's own access check for the dashboard, instead of (or beside) the
 * token: plug it in with `new BrokerQueueModule({ dashboard: { path } }).withDashboardGuard(AdminGuard)`.
 * It is a provider of the module, so its constructor can take the app's
 * services. Return true to let the request in; false falls back to the token
 * (or answers 401 when there is none). Every page, asset, action and
 * `/metrics` request goes through it. Actions are still checked for
 * cross-site requests, since the app's own cookies are sent with them.
 *
 *     class AdminGuard implements QueueDashboardGuard {
 *         constructor(private sessions: SessionService) {}
 *         async authorize(request: HttpRequest) {
 *             return (await this.sessions.fromRequest(request))?.isAdmin === true;
 *         }
 *     }
 */
export abstract class QueueDashboardGuard {
    abstract authorize(request: IncomingMessage): boolean | Promise<boolean>;
}
