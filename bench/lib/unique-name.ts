import { randomBytes } from 'crypto';

/** A name no other run uses (schemas, queue names), safe as an SQL identifier. */
export function uniqueName(prefix: string): string {
    return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}
