import { BrokerQueue } from '../queue';

/**
 * Output of the operator commands: results go to stdout (a table, or JSON
 * with `--json`), problems to stderr with exit code 1.
 */
export class CommandOutput {
    print(text: string): void {
        process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    }

    json(value: unknown): void {
        this.print(JSON.stringify(value, null, 2));
    }

    /** Prints the problem and returns the exit code 1. */
    fail(message: string): number {
        process.stderr.write(`Error: ${message}\n`);
        return 1;
    }

    /** Columns separated by two spaces; numbers aligned right. */
    table(headers: string[], rows: (string | number)[][]): void {
        if (!rows.length) return;
        const cells = [headers, ...rows.map(row => row.map(String))];
        const numeric = headers.map((_, i) => rows.every(row => typeof row[i] === 'number'));
        const widths = headers.map((_, i) => Math.max(...cells.map(row => row[i].length)));
        const line = (row: string[]) => row.map((cell, i) => numeric[i] ? cell.padStart(widths[i]) : cell.padEnd(widths[i])).join('  ').trimEnd();
        this.print(cells.map(line).join('\n'));
    }
}

/**
 * A channel is known when it has messages or processed some in the last hour.
 * Returns an error text for an unknown one, naming the known channels.
 */
export async function unknownChannelError(queue: BrokerQueue, channel: string): Promise<string | undefined> {
    const stats = await queue.stats();
    if (stats.some(v => v.channel === channel)) return undefined;
    const known = stats.map(v => `'${v.channel}'`).join(', ') || 'none';
    return `Unknown channel '${channel}': it has no messages and no recent activity. Known channels: ${known}.`;
}
