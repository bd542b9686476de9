import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { http, HttpRequest } from '@deepkit/http';
import { provide } from '@deepkit/injector';
import { BrokerQueue, BrokerQueueChannel, QueueTracing, SqliteQueueAdapter } from '../../src';
import { MemoryLogger } from '../support/logger';
import { tempDir } from '../support/temp';
import { deferred } from '../support/wait';
import { startDashboardApp } from './support/dashboard-app';

export type Order = { id: number, fail?: boolean };
export type OrdersChannel = BrokerQueueChannel<Order>;
const ordersProvider = provide<OrdersChannel>((queue: BrokerQueue) => queue.channel<Order>('orders', { maxAttempts: 1 }));

/** The app's HTTP endpoint, with the server span an HTTP instrumentation would create from the incoming traceparent. */
class OrderController {
    constructor(private channel: OrdersChannel) {
    }

    @http.POST('/orders/:id')
    async create(id: number, request: HttpRequest) {
        const parent = propagation.extract(ROOT_CONTEXT, request.headers);
        const span = trace.getTracer('app').startSpan('POST /orders', { kind: SpanKind.SERVER }, parent);
        try {
            const result = await context.with(trace.setSpan(parent, span), () => this.channel.produce({ id, fail: id === 2 }));
            return { id: result.id };
        } finally {
            span.end();
        }
    }
}

const parentOf = (span: ReadableSpan) => (span as any).parentSpanContext?.spanId ?? (span as any).parentSpanId;

test('without an OpenTelemetry SDK, tracing is a no-op: nothing is stored with the message and callbacks run as usual', async () => {
    const dir = tempDir();
    const queue = new BrokerQueue(new SqliteQueueAdapter({ path: dir.file('q.sqlite') }), { logger: new MemoryLogger(), instrumentation: QueueTracing.ifAvailable() });
    try {
        const channel = queue.channel<number>('plain');
        const { id } = await channel.produce(1);
        expect((await queue.adapter.getMessage(id))!.headers).toBeUndefined();
        const received = deferred<number>();
        const release = await channel.consume(n => received.resolve(n));
        expect(await received.promise).toBe(1);
        await release();
    } finally {
        await queue.close();
        dir.remove();
    }
});

describe('with the OpenTelemetry SDK', () => {
    const exporter = new InMemorySpanExporter();

    beforeAll(() => {
        trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
        context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
        propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    });
    afterAll(() => {
        trace.disable();
        context.disable();
        propagation.disable();
    });

    test('the consumer span of a message joins the trace of the HTTP request that produced it, linked to the producer span', async () => {
        const app = await startDashboardApp({ providers: [ordersProvider], controllers: [OrderController] });
        try {
            const client = trace.getTracer('client').startSpan('client request');
            const headers: Record<string, string> = {};
            propagation.inject(trace.setSpan(ROOT_CONTEXT, client), headers);
            const done = deferred();
            let calls = 0;
            const release = await app.app.get<OrdersChannel>().consume(order => {
                trace.getTracer('worker').startSpan('send confirmation').end();
                if (++calls === 2) setImmediate(done.resolve);
                if (order.fail) throw new Error('payment declined');
            });
            for (const id of [1, 2]) {
                const response = await fetch(`${app.origin}/orders/${id}`, { method: 'POST', headers });
                expect(response.status).toBe(200);
            }
            client.end();
            await done.promise;
            await release();

            const spans = exporter.getFinishedSpans();
            const traceId = client.spanContext().traceId;
            const named = (name: string) => spans.filter(v => v.name === name);
            expect(spans.every(v => v.spanContext().traceId === traceId)).toBe(true);
            const [server] = named('POST /orders');
            const publishes = named('publish orders');
            const processes = named('process orders');
            expect([publishes.length, processes.length, named('send confirmation').length]).toEqual([2, 2, 2]);
            for (const publish of publishes) {
                expect(publish.kind).toBe(SpanKind.PRODUCER);
                expect(publish.attributes).toMatchObject({ 'messaging.system': 'deepkit_broker_queue', 'messaging.destination.name': 'orders' });
                expect(named('POST /orders').map(v => v.spanContext().spanId)).toContain(parentOf(publish));
            }
            expect(parentOf(server)).toBe(client.spanContext().spanId);
            for (const process of processes) {
                expect(process.kind).toBe(SpanKind.CONSUMER);
                const publish = publishes.find(v => v.spanContext().spanId === parentOf(process))!;
                expect(publish).toBeDefined();
                expect(process.links.map(v => v.context.spanId)).toEqual([publish.spanContext().spanId]);
                // The callback ran inside the consumer span: what it traces is the consumer span's child.
                expect(named('send confirmation').some(v => parentOf(v) === process.spanContext().spanId)).toBe(true);
            }
            const failed = processes.find(v => v.status.code === SpanStatusCode.ERROR)!;
            expect(failed.status.message).toBe('payment declined');
            expect(failed.events.map(v => v.name)).toContain('exception');
            expect(failed.attributes['deepkit_broker_queue.outcome']).toBe('fail');
            expect(processes.filter(v => v.attributes['deepkit_broker_queue.outcome'] === 'done')).toHaveLength(1);
        } finally {
            await app.close();
        }
    });
});
