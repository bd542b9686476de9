import { QueueLogger } from '../../src';

/** Collects log lines instead of printing them, so tests can assert on warnings and await them. */
export class MemoryLogger implements QueueLogger {
    readonly lines: string[] = [];
    protected waiters: { match: (line: string) => boolean, resolve: (line: string) => void }[] = [];
    error(...message: any[]) { this.add('error: ' + message.map(String).join(' ')); }
    warn(...message: any[]) { this.add('warn: ' + message.map(String).join(' ')); }
    log(...message: any[]) { this.add('log: ' + message.map(String).join(' ')); }
    debug(...message: any[]) { this.add('debug: ' + message.map(String).join(' ')); }

    /** Resolves with the first line, logged already or later, that contains `text`. */
    waitForLine(text: string): Promise<string> {
        const seen = this.lines.find(v => v.includes(text));
        if (seen !== undefined) return Promise.resolve(seen);
        return new Promise(resolve => this.waiters.push({ match: line => line.includes(text), resolve }));
    }

    protected add(line: string): void {
        this.lines.push(line);
        this.waiters = this.waiters.filter(waiter => {
            if (!waiter.match(line)) return true;
            waiter.resolve(line);
            return false;
        });
    }
}
