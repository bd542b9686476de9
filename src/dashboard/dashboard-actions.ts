import { BrokerQueue } from '../queue';
import { callCapability, DashboardCapabilities, storageOf } from './dashboard-data';
import { Raw } from './dashboard-html';
import { confirmPurgePage, PageContext } from './dashboard-pages';

export interface ActionOutcome {
    /** 303: done (or `confirm` asks first); anything else is an error to show with `message`. */
    status: number;
    message: string;
    flash?: string;
    count?: number;
    confirm?: (context: PageContext) => Raw;
}

const fail = (status: number, message: string): ActionOutcome => ({ status, message });

/**
 * The dashboard's actions, by name: retry one or all failed, purge failed or
 * all (after a confirmation), and, where the queue can, pause, resume and
 * cancel. Each is a POST whose CSRF check has passed.
 */
export async function performAction(queue: BrokerQueue, can: DashboardCapabilities, name: string, fields: URLSearchParams): Promise<ActionOutcome> {
    const channel = fields.get('channel');
    if (!channel) return fail(400, "Missing 'channel'");
    const id = fields.get('id') || undefined;
    switch (name) {
        case 'retry': {
            const count = await queue.retryFailed(channel, id === undefined ? undefined : [id]);
            return { status: 303, message: '', flash: 'retried', count };
        }
        case 'purge': {
            const which = fields.get('which');
            if (which !== 'failed' && which !== 'all') return fail(400, "'which' must be 'failed' or 'all'");
            if (fields.get('confirmed') !== 'yes') {
                const [stats] = await (await storageOf(queue)).stats(channel);
                const count = which === 'failed' ? stats.failed : stats.pending + stats.delayed + stats.inFlight + stats.failed;
                return { status: 303, message: '', confirm: context => confirmPurgePage(context, channel, which, count) };
            }
            const count = await queue.purge(channel, which);
            return { status: 303, message: '', flash: 'purged', count };
        }
        case 'pause':
        case 'resume':
            if (!can.pause) return fail(404, 'This queue cannot pause channels');
            await callCapability(queue, name, channel);
            return { status: 303, message: '', flash: name === 'pause' ? 'paused' : 'resumed' };
        case 'cancel': {
            if (!can.cancel) return fail(404, 'This queue cannot cancel messages');
            if (!id) return fail(400, "Missing 'id'");
            // 'removed' (was pending or delayed), 'cancelled' (was running: kept as failed), 'not found'.
            const result = await callCapability(queue, 'cancel', channel, id);
            if (result === 'not found') return fail(409, `Message ${id} is not pending, delayed or running in channel '${channel}': nothing to cancel`);
            return { status: 303, message: '', flash: result === 'removed' ? 'removed' : 'cancelled' };
        }
    }
    return fail(404, 'Unknown action');
}
