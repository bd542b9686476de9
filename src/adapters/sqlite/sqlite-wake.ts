import { createHash } from 'crypto';
import { closeSync, FSWatcher, mkdirSync, openSync, utimesSync, watch } from 'fs';
import { join } from 'path';

/**
 * Cross-process wake-up for one SQLite file without polling: after a commit
 * that makes messages available, the writer touches one small file per
 * channel in `<database>-wake/`; consumers watch that folder (inotify on
 * Linux), so an idle worker costs no CPU and wakes within a millisecond.
 * Touching happens after the commit, so a woken reader always sees the data.
 * Listeners in this process are called directly.
 */
export class SqliteWake {
    protected listeners = new Map<string, Set<() => void>>();
    protected byFile = new Map<string, string>();
    protected paths = new Map<string, string>();
    protected watcher?: FSWatcher;

    /** `directory` undefined: this process only (`:memory:`). */
    constructor(protected readonly directory?: string) {
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
        const now = new Date();
        try {
            utimesSync(file, now, now);
        } catch {
            this.ensureDirectory();
            closeSync(openSync(file, 'a'));
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
        this.ensureDirectory();
        // A persistent watcher: an open consumer keeps the process alive, as the docs promise.
        this.watcher = watch(this.directory, { persistent: true }, (event, file) => {
            const channel = file ? this.byFile.get(String(file)) : undefined;
            if (channel) {
                for (const listener of this.listeners.get(channel) ?? []) listener();
            } else if (!file) {
                // Some platforms omit the name: wake everyone.
                for (const set of this.listeners.values()) for (const listener of set) listener();
            }
        });
        this.watcher.on('error', () => this.stopWatcher());
    }

    protected stopWatcher(): void {
        this.watcher?.close();
        this.watcher = undefined;
    }
}
