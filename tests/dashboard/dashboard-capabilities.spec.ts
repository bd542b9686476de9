import { deferred, waitFor } from '../support/wait';
import { startDashboardApp, token } from './support/dashboard-app';

const bearer = { authorization: `Bearer ${token}` };
const post = (url: string, body: object) => fetch(url, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify(body) });

/**
 * Views and actions that exist only where the queue has the capability:
 * schedules (`queue.schedules()`) read defensively, with a stand-in on the
 * queue object here to show the dashboard finds it.
 */
test('schedules appear only when the queue has them', async () => {
    const app = await startDashboardApp();
    try {
        const overview = async () => (await fetch(`${app.url}/`, { headers: bearer })).text();
        expect(await overview()).not.toContain('Schedules');
        Object.assign(app.queue, {
            schedules: async () => [{ channel: 'reports', key: 'monthly <b>', cron: '0 0 1 * *', timezone: 'Europe/Berlin', nextRunAt: new Date('2030-01-01T00:00:00Z'), lastRunAt: new Date('2029-12-01T00:00:00Z') }],
        });
        const page = await overview();
        expect(page).toContain('<h2>Schedules</h2>');
        expect(page).toContain('monthly &#60;b&#62;');
        expect(page).toContain('cron 0 0 1 * *, Europe/Berlin');
        expect(page).toContain('2030-01-01 00:00:00 UTC');
        expect(page).toContain('2029-12-01 00:00:00 UTC');
    } finally {
        await app.close();
    }
});

/** Cancel with the real `queue.cancel()` of the SQLite adapter: each state and its answer. */
test('cancel removes a delayed message, cancels a running one, and answers 409 when there is nothing to cancel', async () => {
    const app = await startDashboardApp();
    try {
        const channel = app.queue.channel<string>('reports');
        const { id } = await channel.produce('x', { delay: '1h' });
        const message = async (messageId: string) => (await fetch(`${app.url}/message?id=${messageId}`, { headers: bearer })).text();
        expect(await message(id)).toContain('/actions/cancel');
        expect(await (await post(`${app.url}/actions/cancel`, { channel: 'reports', id })).json()).toEqual({ done: 'removed' });
        expect(await app.queue.adapter.getMessage(id)).toBeUndefined();
        const again = await post(`${app.url}/actions/cancel`, { channel: 'reports', id });
        expect(again.status).toBe(409);
        expect(await again.text()).toContain('nothing to cancel');

        const aborted = deferred<string>();
        const release = await channel.consume(async (_, running) => {
            await new Promise(resolve => running.signal.addEventListener('abort', resolve));
            aborted.resolve((running.signal.reason as { kind: string }).kind);
        });
        try {
            const { id: runningId } = await channel.produce('y');
            await waitFor(async () => (await app.queue.adapter.getMessage(runningId))?.state === 'leased', 'the running message');
            expect(await message(runningId)).toContain('/actions/cancel');
            expect(await (await post(`${app.url}/actions/cancel`, { channel: 'reports', id: runningId })).json()).toEqual({ done: 'cancelled' });
            expect(await aborted.promise).toBe('cancelled');
            // Kept as failed: no Cancel button any more.
            expect(await message(runningId)).not.toContain('/actions/cancel');
        } finally {
            await release();
        }
    } finally {
        await app.close();
    }
});
