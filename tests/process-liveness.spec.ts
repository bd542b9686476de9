/**
 * A worker is judged dead only when its process is gone, not when /proc will not say: under hidepid,
 * processes of other users are unreadable (noaccess) or missing (invisible) in /proc although they run.
 * Real processes of another OS user behind a real hidepid /proc mount (a private mount namespace).
 */
import Database from 'better-sqlite3';
import { execFile, spawn } from 'child_process';
import { chmodSync } from 'fs';
import { join } from 'path';
import { promisify } from 'util';
import { SqliteQueueAdapter } from '../src';
import { hostIdentity, isProcessAlive, processStartTime } from '../src/process-liveness';
import { commandFor } from './support/child';
import { asRootTest, nobody } from './support/os-user';
import { tempDir } from './support/temp';

const root = join(__dirname, '..');

/** Runs the probe as nobody with /proc mounted `hidepid=<mode>` in its own mount namespace. */
async function probe(hidepid: 'noaccess' | 'invisible', args: string[]): Promise<string[]> {
    const script = `mount -t proc -o hidepid=${hidepid} proc /proc && exec setpriv --reuid=${nobody.uid} --regid=${nobody.gid} --clear-groups "$@"`;
    const { stdout } = await promisify(execFile)('unshare', [
        '--mount', '--propagation', 'private', 'sh', '-c', script, 'probe',
        process.execPath, ...commandFor('tests/fixtures/liveness-probe.ts'), ...args,
    ], { cwd: root, env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') }, timeout: 30_000 });
    return stdout.trim().split('\n');
}

/** The pid of a process that ran and was reaped. */
async function deadPid(): Promise<number> {
    const child = spawn(process.execPath, ['-e', '']);
    await new Promise(resolve => child.on('exit', resolve));
    return child.pid!;
}

describe('process liveness', () => {
    test('this process is alive with its start time, not with another; a reaped one is dead', async () => {
        expect(isProcessAlive(process.pid, processStartTime(process.pid))).toBe(true);
        expect(isProcessAlive(process.pid, '1')).toBe(false);
        expect(isProcessAlive(await deadPid())).toBe(false);
    });

    for (const hidepid of ['noaccess', 'invisible'] as const) {
        asRootTest(`behind hidepid=${hidepid}, another user's live process is alive and a gone one dead`, async () => {
            const gone = await deadPid();
            expect(await probe(hidepid, ['-', String(process.pid), String(gone)])).toEqual([`alive ${process.pid} true`, `alive ${gone} false`]);
        });
    }

    asRootTest('behind hidepid, a worker of another user keeps its lease (SQLite reclaim)', async () => {
        const dir = tempDir();
        const path = dir.file('queue.sqlite');
        const storage = new SqliteQueueAdapter({ path });
        try {
            chmodSync(dir.path, 0o777);
            await storage.connect();
            await storage.enqueue([{ channel: 'n', payload: new Uint8Array([1]), delay: 0, priority: 0, maxAttempts: 5 }]);
            await storage.registerConsumer({ id: 'w', channel: 'n', host: hostIdentity(), pid: process.pid });
            expect(await storage.claim('n', 'w', 1, 600_000)).toHaveLength(1);
            for (const file of [path, `${path}-wal`, `${path}-shm`]) chmodSync(file, 0o666);
            expect(await probe('invisible', [path])).toEqual(['reclaimed 0']);
            const db = new Database(path, { readonly: true });
            expect(db.prepare('SELECT state, lease_owner FROM queue_messages').all()).toEqual([{ state: 1, lease_owner: 'w' }]);
            expect(db.prepare('SELECT id FROM queue_consumers').all()).toEqual([{ id: 'w' }]);
            db.close();
        } finally {
            await storage.disconnect();
            dir.remove();
        }
    });
});
