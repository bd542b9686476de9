import { readFileSync, readlinkSync } from 'fs';
import { hostname } from 'os';

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
    // Cannot tell from /proc (none, or hidepid hides other users' processes): the pid exists or not. A reused
    // pid then looks alive, which only means its messages wait for their lease to end.
    try {
        process.kill(pid, 0);
        return true;
    } catch (error) {
        // EPERM: it exists but belongs to another user.
        return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
}

/** The process's state and start time, or undefined when /proc does not say. */
function readProcStat(pid: number): { state: string, startTime: string } | undefined {
    if (process.platform !== 'linux') return undefined;
    let text: string;
    try {
        text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
        // Not "dead": under hidepid a live process of another user is EPERM (noaccess) or even ENOENT (invisible).
        return undefined;
    }
    // The command name (field 2) is in parentheses and may contain spaces.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], startTime: fields[19] };
}

let cachedHostIdentity: string | undefined;

/**
 * Names the pid space this process lives in: the host name, plus on Linux the
 * boot id and the pid namespace. Pids are only compared between processes with
 * the same identity, so containers sharing a host name (or a reboot) never make
 * a live worker look dead.
 */
export function hostIdentity(): string {
    if (cachedHostIdentity) return cachedHostIdentity;
    let identity = hostname();
    if (process.platform === 'linux') {
        try {
            identity += '/' + readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() + '/' + readlinkSync('/proc/self/ns/pid');
        } catch {
            // Without /proc the host name alone has to do.
        }
    }
    return cachedHostIdentity = identity;
}
