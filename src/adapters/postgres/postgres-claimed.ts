import { ClaimedMessage } from '../../storage';

/**
 * A claim's messages come back packed into one bytea value, not as one row each: pg makes a
 * row object, a string per column and a Buffer per row, and while a claim of 256 rows arrives
 * those survive V8's young-generation collections and are promoted (most of a draining
 * worker's heap). Packed, a claim is one string and one Buffer; each payload is a view into it.
 *
 * Per message, big-endian: attempt int4, max_attempts int4, priority int4, record_start int4 (0/1),
 * produced_at float8 and scheduled_at float8 (epoch ms, NaN for none), id length int4 and its decimal
 * digits, headers length int4 (-1 for none) and UTF-8 bytes, payload length int4 and bytes.
 * The id as digits: one string per id, with no arithmetic or BigInt for ids past 2^53.
 */
const fixedBytes = 4 + 4 + 4 + 4 + 8 + 8;

const epochMs = (column: string) => `(extract(epoch FROM ${column}) * 1000)::float8`;

/** The one row of the claim statement. */
export interface PostgresClaimRow {
    claimed: number;
    messages: Uint8Array | null;
    /** When it claimed fewer than asked: ms to the next availability (null: nothing pending). */
    next_ms: number | null;
    /** The channel has a flow row: the fast path claimed nothing. */
    flow: boolean;
}

/** The packed form of one row `c` of the claim's RETURNING (see the claim statement). */
export function packedClaimedMessage(c: string): string {
    return [
        `int4send(${c}.attempt)`, `int4send(${c}.max_attempts)`, `int4send(${c}.priority)`,
        `int4send(${c}.record_start::int)`, `float8send(${epochMs(`${c}.produced_at`)})`,
        `float8send(coalesce(${epochMs(`${c}.scheduled_at`)}, 'NaN'::float8))`,
        `int4send(length(${c}.id::text)) || convert_to(${c}.id::text, 'SQL_ASCII')`,
        `CASE WHEN ${c}.headers IS NULL THEN int4send(-1) ELSE int4send(octet_length(convert_to(${c}.headers, 'UTF8'))) || convert_to(${c}.headers, 'UTF8') END`,
        `int4send(octet_length(${c}.payload))`, `${c}.payload`,
    ].join(' || ');
}

/** The messages of a packed claim, in its order. `channel` is the claim's: every message is of it. */
export function unpackClaimedMessages(packed: Uint8Array | null, count: number, channel: string): ClaimedMessage[] {
    const messages: ClaimedMessage[] = new Array(count);
    if (!count) return messages;
    if (!(packed instanceof Uint8Array)) throw new Error(`The claim returned ${count} messages without their packed bytes (a custom bytea type parser on the pool?)`);
    const bytes = Buffer.isBuffer(packed) ? packed : Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength);
    let at = 0;
    for (let i = 0; i < count; i++) {
        if (at + fixedBytes + 12 > bytes.length) throw new Error(`The packed claim ends within message ${i + 1} of ${count}`);
        const attempt = bytes.readInt32BE(at);
        const maxAttempts = bytes.readInt32BE(at + 4);
        const priority = bytes.readInt32BE(at + 8);
        const recordStart = bytes.readInt32BE(at + 12) !== 0;
        const producedAt = bytes.readDoubleBE(at + 16);
        const scheduledAt = bytes.readDoubleBE(at + 24);
        at += fixedBytes;
        const idLength = bytes.readInt32BE(at);
        at += 4;
        const id = bytes.toString('latin1', at, at += idLength);
        const headersLength = bytes.readInt32BE(at);
        at += 4;
        const headers = headersLength < 0 ? undefined : bytes.toString('utf8', at, at += headersLength);
        const payloadLength = bytes.readInt32BE(at);
        at += 4;
        const message: ClaimedMessage = {
            id, channel, payload: bytes.subarray(at, at += payloadLength), attempt, maxAttempts, priority,
            producedAt: new Date(producedAt), recordStart, scheduledAt: Number.isNaN(scheduledAt) ? undefined : new Date(scheduledAt),
        };
        if (headers) message.headers = JSON.parse(headers);
        messages[i] = message;
    }
    if (at !== bytes.length) throw new Error(`The packed claim has ${bytes.length - at} bytes after its ${count} messages`);
    return messages;
}
