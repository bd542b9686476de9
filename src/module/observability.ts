import { Stopwatch } from '@deepkit/stopwatch';
import { QueueInstrumentation } from '../instrumentation';
import { loadPromClient, QueueMetrics } from '../metrics/queue-metrics';
import { QueueStopwatch } from '../tracing/queue-stopwatch';
import { loadOpenTelemetry, QueueTracing } from '../tracing/queue-tracing';

/**
 * What `BrokerQueueModule` observes its queue with: Prometheus metrics when
 * prom-client is installed and `metrics` is on, OpenTelemetry spans when
 * `@opentelemetry/api` is installed and `tracing` is on, and Stopwatch frames
 * while the app profiles.
 */
export class QueueObservability {
    readonly metrics?: QueueMetrics;
    readonly tracing?: QueueTracing;
    readonly profiler?: QueueStopwatch;

    constructor(options: { metrics: boolean, tracing: boolean }, stopwatch?: Stopwatch) {
        const client = options.metrics ? loadPromClient() : undefined;
        if (client) this.metrics = new QueueMetrics({ client });
        const api = options.tracing ? loadOpenTelemetry() : undefined;
        if (api) this.tracing = new QueueTracing({ api });
        if (stopwatch) this.profiler = new QueueStopwatch(stopwatch);
    }

    get instrumentation(): QueueInstrumentation[] {
        // Tracing outermost: the Stopwatch frame and the measured duration are inside the span.
        const all: (QueueInstrumentation | undefined)[] = [this.tracing, this.profiler, this.metrics];
        return all.filter((v): v is QueueInstrumentation => !!v);
    }
}
