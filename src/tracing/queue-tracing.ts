import type * as OpenTelemetry from '@opentelemetry/api';
import { CallbackObservation, QueueInstrumentation } from '../instrumentation';
import { ClaimedMessage, EnqueueRequest, Settlement } from '../storage';

export interface QueueTracingOptions {
    /** The `@opentelemetry/api` module; loaded from the app's dependencies when not given. */
    api?: typeof OpenTelemetry;
    /** Tracer name. Default `'deepkit-broker-queue'`. */
    tracerName?: string;
}

const system = 'deepkit_broker_queue';

/**
 * OpenTelemetry spans through `@opentelemetry/api`: one `publish <channel>`
 * span (kind PRODUCER) per produce call, whose context (W3C `traceparent`,
 * through the app's registered propagator) is stored in each message's
 * headers; and one `process <channel>` span (kind CONSUMER) per callback,
 * a child of that context and linked to it, active while the callback runs.
 * Without an SDK the API is a no-op, and so is this.
 *
 * @reflection never
 */
export class QueueTracing implements QueueInstrumentation {
    protected readonly api: typeof OpenTelemetry;
    protected readonly tracer: OpenTelemetry.Tracer;

    constructor(options: QueueTracingOptions = {}) {
        this.api = options.api ?? loadOpenTelemetry()!;
        if (!this.api) throw new Error("QueueTracing needs the '@opentelemetry/api' package: npm install @opentelemetry/api");
        this.tracer = this.api.trace.getTracer(options.tracerName ?? 'deepkit-broker-queue');
    }

    /** A QueueTracing when `@opentelemetry/api` is installed, else undefined. */
    static ifAvailable(options: Omit<QueueTracingOptions, 'api'> = {}): QueueTracing | undefined {
        const api = loadOpenTelemetry();
        return api ? new QueueTracing({ ...options, api }) : undefined;
    }

    produce(channel: string, requests: EnqueueRequest[]): (error?: unknown) => void {
        const { trace, context, propagation, SpanKind } = this.api;
        const attributes: OpenTelemetry.Attributes = {
            'messaging.system': system,
            'messaging.operation.type': 'send',
            'messaging.destination.name': channel,
        };
        if (requests.length > 1) attributes['messaging.batch.message_count'] = requests.length;
        const span = this.tracer.startSpan(`publish ${channel}`, { kind: SpanKind.PRODUCER, attributes });
        const headers: Record<string, string> = {};
        propagation.inject(trace.setSpan(context.active(), span), headers);
        if (Object.keys(headers).length) {
            for (const request of requests) request.headers = request.headers ? { ...request.headers, ...headers } : headers;
        }
        return error => {
            if (error !== undefined) recordError(this.api, span, error);
            span.end();
        };
    }

    process(message: ClaimedMessage): CallbackObservation {
        const { trace, context, propagation, ROOT_CONTEXT, SpanKind } = this.api;
        const producer = message.headers ? propagation.extract(ROOT_CONTEXT, message.headers) : ROOT_CONTEXT;
        const producerSpan = trace.getSpanContext(producer);
        const span = this.tracer.startSpan(`process ${message.channel}`, {
            kind: SpanKind.CONSUMER,
            links: producerSpan ? [{ context: producerSpan }] : undefined,
            attributes: {
                'messaging.system': system,
                'messaging.operation.type': 'process',
                'messaging.destination.name': message.channel,
                'messaging.message.id': message.id,
                'deepkit_broker_queue.attempt': message.attempt,
            },
        }, producer);
        const active = trace.setSpan(producer, span);
        return {
            run: callback => context.with(active, callback),
            end: (outcome: Settlement['kind'], _durationMs: number, error?: unknown) => {
                span.setAttribute('deepkit_broker_queue.outcome', outcome);
                if (error !== undefined) recordError(this.api, span, error);
                span.end();
            },
        };
    }
}

function recordError(api: typeof OpenTelemetry, span: OpenTelemetry.Span, error: unknown): void {
    span.recordException(error instanceof Error ? error : String(error));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
}

/** `@opentelemetry/api` when installed (an optional peer dependency), else undefined. */
export function loadOpenTelemetry(): typeof OpenTelemetry | undefined {
    try {
        return require('@opentelemetry/api');
    } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' && String((error as Error).message).includes('@opentelemetry/api')) return undefined;
        throw error;
    }
}
