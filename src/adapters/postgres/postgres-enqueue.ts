import { EnqueueRequest, EnqueueResult } from '../../storage';

export interface PostgresEnqueueBatch {
    /** The parameters of the `enqueue` statement. */
    values: unknown[];
    /** Each request's result from the statement's rows, and the channels that got a message. */
    resolve(rows: { id: string, deduplicated: boolean }[]): { results: EnqueueResult[], channels: string[] };
}

/**
 * Requests as the arrays of one `enqueue` statement (postgres-statements.ts), for the adapter's own
 * statement and one inside an application's transaction alike. A hash repeated within the batch is
 * deduplicated here: one statement cannot upsert one key twice.
 */
export function postgresEnqueueBatch(requests: EnqueueRequest[]): PostgresEnqueueBatch {
    const first = new Map<string, number>();
    const sent: EnqueueRequest[] = [];
    const sameAs: (number | undefined)[] = requests.map(request => {
        if (request.deduplication) {
            const key = `${request.channel}\0${request.deduplication.hash}`;
            const earlier = first.get(key);
            if (earlier !== undefined) return earlier;
            first.set(key, sent.length);
        }
        sent.push(request);
        return undefined;
    });
    return {
        values: [
            sent.map(v => v.channel),
            sent.map(v => v.priority),
            sent.map(v => v.delay),
            sent.map(v => v.maxAttempts),
            sent.map(v => toBuffer(v.payload)),
            sent.map(v => v.deduplication?.hash ?? null),
            sent.map(v => v.deduplication?.interval ?? null),
            sent.map(v => v.headers ? JSON.stringify(v.headers) : null),
        ],
        resolve(rows) {
            const stored: EnqueueResult[] = rows.map(row => ({ id: row.id, deduplicated: row.deduplicated }));
            let next = 0;
            return {
                results: sameAs.map(earlier => earlier === undefined ? stored[next++] : { id: stored[earlier].id, deduplicated: true }),
                channels: sent.filter((_, i) => !stored[i].deduplicated).map(v => v.channel),
            };
        },
    };
}

export function toBuffer(payload: Uint8Array): Buffer {
    return Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
}
