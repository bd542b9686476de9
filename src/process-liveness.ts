import { readFileSync } from 'fs';

/**
 * Tells whether a process on this host is still the one that registered.
 * The start time from /proc (Linux) guards against a reused pid; elsewhere
 * only the pid is checked.
 */
export function processStartTime(pid: number): string | undefined {
    return readProcStat(pid)?.startTime;
}

export function isProcessAlive(pid: number, startTime?: string | null): boolean {
    const stat = readProcStat(pid);
    if (stat) {
        // A zombie has exited; its parent just has not reaped it yet.
        if (stat.state === 'Z' || stat.state === 'X') return false;
        return !startTime || stat.startTime === startTime;
    }
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it exists but belongs to another user.
        return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
}

function readProcStat(pid: number): { state: string, startTime: string } | undefined {
    if (process.platform !== 'linux') return undefined;
    let text: string;
    try {
        text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
        return { state: 'X', startTime: '' };
    }
    // The command name (field 2) is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
}
