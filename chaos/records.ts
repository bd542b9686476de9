import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'fs';

/**
 * The ledger of a producer and the log of a worker: one file per process
 * incarnation, one line per event, space separated, times in ms since the epoch.
 *
 * Producer ledger:          Worker log:
 *   P <incarnation> <pid> <t>   W <incarnation> <pid> <t>
 *   S <seq> <t>   calling       S <chaosId> <queueId> <attempt> <t>   callback started
 *   R <seq> <queueId> <t>       C <chaosId> <t>                       callback returning
 *   E <seq> <t> <error>         X <t>                                 stopped cleanly
 *   X <t>   finished            F <t> <code>                          consume() rejected by the storage
 *
 * A message's chaos id is `<producer incarnation>:<seq>`.
 */
export class AppendLog {
    protected readonly fd: number;

    constructor(path: string) {
        this.fd = openSync(path, 'a');
    }

    /**
     * writeSync: once it returns, the line is in the kernel's page cache and
     * survives a kill -9 of this process (only an OS crash could lose it, and
     * that is not what the chaos run does, so no fsync per line).
     */
    write(...fields: (string | number)[]): void {
        writeSync(this.fd, fields.join(' ') + '\n');
    }

    close(): void {
        closeSync(this.fd);
    }
}

export const chaosId = (incarnation: string, seq: number) => `${incarnation}:${seq}`;

/**
 * Splits a log into lines of fields; a last line cut off by a kill (no newline) is dropped.
 * No file: the process was killed before it opened it.
 */
export function readRecords(path: string): string[][] {
    if (!existsSync(path)) return [];
    const text = readFileSync(path, 'utf8');
    const end = text.lastIndexOf('\n');
    if (end < 0) return [];
    return text.slice(0, end).split('\n').map(v => v.split(' '));
}
