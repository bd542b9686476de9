import { QueueLogger } from '../../src';

/** Collects log lines instead of printing them, so tests can assert on warnings. */
export class MemoryLogger implements QueueLogger {
    readonly lines: string[] = [];
    error(...message: any[]) { this.lines.push('error: ' + message.map(String).join(' ')); }
    warn(...message: any[]) { this.lines.push('warn: ' + message.map(String).join(' ')); }
    log(...message: any[]) { this.lines.push('log: ' + message.map(String).join(' ')); }
    debug(...message: any[]) { this.lines.push('debug: ' + message.map(String).join(' ')); }
}
