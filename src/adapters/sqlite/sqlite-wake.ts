import { createHash } from 'crypto';
import { closeSync, FSWatcher, ftruncateSync, mkdirSync, openSync, utimesSync, watch } from 'fs';
import { join } from 'path';

/** Hears, once per kind, that wake-ups across processes do not work; consumers then rely on polling. */
export type SqliteWakeWarning = (message: string, error: unknown) => void;

/** The default: a process warning (printed to stderr by Node), code `DEEPKIT_BROKER_QUEUE_WAKE`. */
export const emitWakeWarning: SqliteWakeWarning = (message, error) => {
    process.emitWarning(`${message}: ${describe(error)}`, { code: 'DEEPKIT_BROKER_QUEUE_WAKE' });
};

/**
 * Cross-process wake-up for one SQLite file without polling: after a commit
 * that makes messages available, the writer touches one small file per
 * channel in `<database>-wake/`; consumers watch that folder (inotify on
 * Linux), so an idle worker costs no CPU and wakes within a millisecond.
 * Touching happens after the commit, so a woken reader always sees the data.
 * Listeners in this process are called directly.
 *
 * A wake-up is an optimisation over the consumers' backstop poll: failing to
 * touch (after the commit: the operation took effect) or to watch never fails
 * the operation; it is reported once and consumers poll every `pollInterval`.
 */
export class SqliteWake {
    protected listeners = new Map<string, Set<() => void>>();
    protected byFile = new Map<string, string>();
    protected paths = new Map<string, string>();
    protected watcher?: FSWatcher;
    protected warned = new Set<'touch' | 'watch'>();

    /** `directory` undefined: this process only (`:memory:`). */
    constructor(protected readonly directory?: string, protected readonly warn: SqliteWakeWarning = emitWakeWarning) {
    }

    /** Announces, after a commit, that these channels may have available messages. */
    notify(channels: Iterable<string>): void {
        const unique = new Set(channels);
        for (const channel of unique) {
            this.notifyLocal(channel);
            if (this.directory) this.touch(channel);
        }
    }

    watch(channel: string, listener: () => void): () => void {
        let set = this.listeners.get(channel);
        if (!set) this.listeners.set(channel, set = new Set());
        set.add(listener);
        this.byFile.set(this.fileName(channel), channel);
        this.startWatcher();
        return () => {
            set!.delete(listener);
            if (!set!.size) {
                this.listeners.delete(channel);
                this.byFile.delete(this.fileName(channel));
            }
            if (!this.listeners.size) this.stopWatcher();
        };
    }

    close(): void {
        this.listeners.clear();
        this.byFile.clear();
        this.stopWatcher();
    }

    protected notifyLocal(channel: string): void {
        const set = this.listeners.get(channel);
        if (!set) return;
        // Not synchronously: the caller may still be inside a storage call.
        process.nextTick(() => { for (const listener of set) listener(); });
    }

    protected touch(channel: string): void {
        // Cached: hashing the name took twice as long as touching the file, on every produce.
        let file = this.paths.get(channel);
        if (!file) this.paths.set(channel, file = join(this.directory!, this.fileName(channel)));
        try {
            const now = new Date();
            try {
                utimesSync(file, now, now);
                return;
            } catch (error) {
                // EPERM: setting times needs ownership (another user's file, shared through a group); ENOENT: the first touch.
                const code = (error as NodeJS.ErrnoException).code;
                if (code !== 'EPERM' && code !== 'EACCES' && code !== 'ENOENT') throw error;
                if (code === 'ENOENT') this.ensureDirectory();
            }
            // Needs only write permission, and is a change the watcher sees: opening and closing without a write is not.
            const fd = openSync(file, 'a');
            try {
                ftruncateSync(fd, 0);
            } finally {
                closeSync(fd);
            }
        } catch (error) {
            this.warnOnce('touch', `deepkit-broker-queue: cannot touch the SQLite wake-up file ${file}; consumers in other processes notice new messages by polling (pollInterval) instead`, error);
        }
    }

    protected fileName(channel: string): string {
        return createHash('sha1').update(channel).digest('hex').slice(0, 20);
    }

    protected ensureDirectory(): void {
        mkdirSync(this.directory!, { recursive: true });
    }

    protected startWatcher(): void {
        if (this.watcher || !this.directory) return;
        const reason = `deepkit-broker-queue: cannot watch the SQLite wake-up folder ${this.directory}; consumers notice messages from other processes by polling (pollInterval) instead`;
        let watcher: FSWatcher;
        try {
            this.ensureDirectory();
            // A persistent watcher: an open consumer keeps the process alive, as the docs promise.
            watcher = watch(this.directory, { persistent: true }, (event, file) => {
                const channel = file ? this.byFile.get(String(file)) : undefined;
                if (channel) {
                    for (const listener of this.listeners.get(channel) ?? []) listener();
                } else if (!file) {
                    // Some platforms omit the name: wake everyone.
                    for (const set of this.listeners.values()) for (const listener of set) listener();
                }
            });
        } catch (error) {
            // ENOSPC or EMFILE (inotify limits), a file in place of the folder, no permission. The next watch() tries again.
            this.warnOnce('watch', reason, error);
            return;
        }
        watcher.on('error', error => {
            this.warnOnce('watch', reason, error);
            if (this.watcher === watcher) this.stopWatcher();
        });
        this.watcher = watcher;
    }

    protected stopWatcher(): void {
        this.watcher?.close();
        this.watcher = undefined;
    }

    protected warnOnce(kind: 'touch' | 'watch', message: string, error: unknown): void {
        if (this.warned.has(kind)) return;
        this.warned.add(kind);
        try {
            this.warn(message, error);
        } catch {
            // A warning must not fail the operation it is about.
        }
    }
}

function describe(error: unknown): string {
    return error instanceof Error ? error.message : String(error);
}
