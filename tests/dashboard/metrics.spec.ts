import { BrokerQueue, latencyTotal, PostgresQueueAdapter, QueueMetrics, QueueStorage } from '../../src';
import { MemoryLogger } from '../support/logger';
import { describePostgres, dropSchema, postgresUrl, testSchema } from '../support/postgres';
import { Family, parsePrometheusText, sampleValue } from '../support/prometheus-text';
import { deferred } from '../support/wait';
import { startDashboardApp, token } from './support/dashboard-app';

/**
 * 10 produced with maxAttempts 2: 7 done at once, 2 fail once and are then done, 1 fails
 * both attempts; then 4 more wait. So: produced 14, completed 9, failed 1, retried 3,
 * 13 claims, 4 pending.
 */
async function workload(queue: BrokerQueue): Promise<void> {
    const orders = queue.channel<number>('orders', { maxAttempts: 2, backoff: { delay: 1, factor: 1 } });
    await orders.produceMany([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const runs = new Map<number, number>();
    const settled = deferred();
    let finished = 0;
    const release = await orders.consume(n => {
        const run = (runs.get(n) ?? 0) + 1;
        runs.set(n, run);
        const fails = n === 9 || (n >= 7 && run === 1);
        if (!fails || run === 2) {
            if (++finished === 10) setImmediate(settled.resolve);
        }
        if (fails) throw new Error(`order ${n} failed`);
    });
    await settled.promise;
    await release();
    await orders.produceMany([10, 11, 12, 13]);
}

async function expectMetricsMatchStorage(families: Map<string, Family>, storage: QueueStorage): Promise<void> {
    const [totals] = await storage.totals();
    const [stats] = await storage.stats('orders');
    const channel = { channel: 'orders' };
    expect(totals).toMatchObject({ produced: 14, done: 9, failed: 1, retried: 3 });
    expect(latencyTotal(totals.latency)).toBe(13);
    expect(sampleValue(families, 'deepkit_queue_produced_total', channel)).toBe(totals.produced);
    expect(sampleValue(families, 'deepkit_queue_completed_total', channel)).toBe(totals.done);
    expect(sampleValue(families, 'deepkit_queue_failed_total', channel)).toBe(totals.failed);
    expect(sampleValue(families, 'deepkit_queue_retried_total', channel)).toBe(totals.retried);
    expect(families.get('deepkit_queue_produced_total')!.type).toBe('counter');
    for (const [state, value] of [['pending', stats.pending], ['delayed', stats.delayed], ['in_flight', stats.inFlight], ['failed', stats.failed]] as const) {
        expect([state, sampleValue(families, 'deepkit_queue_messages', { channel: 'orders', state })]).toEqual([state, value]);
    }
    expect(stats).toMatchObject({ pending: 4, failed: 1 });
    expect(families.get('deepkit_queue_queue_latency_seconds')!.type).toBe('histogram');
    expect(sampleValue(families, 'deepkit_queue_queue_latency_seconds', channel, 'deepkit_queue_queue_latency_seconds_count')).toBe(13);
    expect(sampleValue(families, 'deepkit_queue_queue_latency_seconds', { channel: 'orders', le: '+Inf' }, 'deepkit_queue_queue_latency_seconds_bucket')).toBe(13);
    expect(sampleValue(families, 'deepkit_queue_queue_latency_seconds', channel, 'deepkit_queue_queue_latency_seconds_sum')).toBeCloseTo(totals.latency.sum / 1000, 6);
}

test('GET <path>/metrics: Prometheus text behind the token that matches the storage after a workload', async () => {
    const app = await startDashboardApp();
    try {
        await workload(app.queue);
        expect((await fetch(`${app.url}/metrics`)).status).toBe(401);
        const response = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
        const families = parsePrometheusText(await response.text());
        await expectMetricsMatchStorage(families, app.queue.adapter);
        // Measured in this process: every callback it ran, by outcome.
        const duration = 'deepkit_queue_callback_duration_seconds';
        expect(families.get(duration)!.type).toBe('histogram');
        for (const [outcome, count] of [['done', 9], ['retry', 3], ['fail', 1]] as const) {
            expect([outcome, sampleValue(families, duration, { channel: 'orders', outcome }, `${duration}_count`)]).toEqual([outcome, count]);
        }
    } finally {
        await app.close();
    }
});

describePostgres('postgres', () => {
    test('QueueMetrics on PostgreSQL reads the same figures from the storage', async () => {
        const schema = testSchema();
        const queue = new BrokerQueue(new PostgresQueueAdapter({ connectionString: postgresUrl, schema }), { logger: new MemoryLogger(), pollInterval: 50 });
        const metrics = new QueueMetrics().attach(queue);
        try {
            await workload(queue);
            await expectMetricsMatchStorage(parsePrometheusText(await metrics.metrics()), queue.adapter);
        } finally {
            await queue.close();
            await dropSchema(schema);
        }
    });
});
