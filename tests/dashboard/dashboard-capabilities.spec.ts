import { startDashboardApp, token } from './support/dashboard-app';

const bearer = { authorization: `Bearer ${token}` };

/**
 * Views and actions that exist only where the queue has the capability:
 * schedules (`queue.schedules()`) and cancel (`queue.cancel()`) are other
 * issues' work; stand-ins on the queue object show the dashboard finds them.
 */
test('schedules and cancel appear only when the queue has them', async () => {
    const app = await startDashboardApp();
    try {
        const { id } = await app.queue.channel<string>('reports').produce('x', { delay: '1h' });
        const overview = async () => (await fetch(`${app.url}/`, { headers: bearer })).text();
        const message = async () => (await fetch(`${app.url}/message?id=${id}`, { headers: bearer })).text();
        expect(await overview()).not.toContain('Schedules');
        expect(await message()).not.toContain('/actions/cancel');
        expect((await fetch(`${app.url}/actions/cancel`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'reports', id }) })).status).toBe(404);

        const cancelled: string[] = [];
        Object.assign(app.queue, {
            schedules: async () => [{ channel: 'reports', key: 'monthly <b>', cron: '0 0 1 * *', timezone: 'Europe/Berlin', nextRunAt: new Date('2030-01-01T00:00:00Z'), lastRunAt: new Date('2029-12-01T00:00:00Z') }],
            cancel: async (channel: string, messageId: string) => { cancelled.push(`${channel}:${messageId}`); },
        });
        const page = await overview();
        expect(page).toContain('<h2>Schedules</h2>');
        expect(page).toContain('monthly &#60;b&#62;');
        expect(page).toContain('cron 0 0 1 * *, Europe/Berlin');
        expect(page).toContain('2030-01-01 00:00:00 UTC');
        expect(page).toContain('2029-12-01 00:00:00 UTC');
        expect(await message()).toContain('/actions/cancel');
        const response = await fetch(`${app.url}/actions/cancel`, { method: 'POST', headers: { ...bearer, 'content-type': 'application/json' }, body: JSON.stringify({ channel: 'reports', id }) });
        expect(await response.json()).toEqual({ done: 'cancelled' });
        expect(cancelled).toEqual([`reports:${id}`]);
    } finally {
        await app.close();
    }
});
