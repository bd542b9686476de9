import { ClassType } from '@deepkit/core';
import { http, HttpRegExp, HttpRequest, HttpResponse } from '@deepkit/http';
import { QueueDashboard } from './queue-dashboard';

/** The route group of the dashboard's routes, for the app's own `httpWorkflow` listeners. */
export const dashboardRouteGroup = 'brokerQueueDashboard';

/**
 * A controller under the configured path that hands every request (any
 * method, any sub-path, assets included) to the dashboard, which checks
 * credentials before anything else. Created per app, because the path is
 * configuration. Loaded only when the dashboard is on, so `@deepkit/http` is
 * needed only then.
 */
export function createDashboardController(path: string): ClassType {
    class QueueDashboardController {
        constructor(protected readonly dashboard: QueueDashboard) {
        }

        @(http.ANY('').group(dashboardRouteGroup))
        async root(request: HttpRequest, response: HttpResponse) {
            await this.dashboard.handle(request, response);
            return response;
        }

        @(http.ANY(':rest').group(dashboardRouteGroup))
        async rest(rest: HttpRegExp<string, '.*'>, request: HttpRequest, response: HttpResponse) {
            await this.dashboard.handle(request, response);
            return response;
        }
    }

    http.controller(path)(QueueDashboardController);
    return QueueDashboardController;
}
