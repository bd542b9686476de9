// `npm start`: the docs' apps end to end on embedded SQLite. Starts two
// workers (worker.ts) and the HTTP app (app.ts), registers a batch of users
// over HTTP, shows which worker consumed each (exactly once), then stops
// everything with SIGTERM. The app serves the queue dashboard; its URL
// and token are printed. `npm start -- --keep` keeps everything running until
// Ctrl+C, to look at the dashboard. Then the Deepkit ORM examples (orm-app.ts,
// orm-worker.ts) on one SQLite file: users registered in transactions with
// their message, one rolled back, one welcome-mail row each. Exits 0 when all
// of it held.
import { ChildProcess, spawn } from 'child_process';
import { randomBytes } from 'crypto';
import { mkdtempSync, rmSync } from 'fs';
import { createServer } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { createInterface } from 'readline';

const root = join(__dirname, '..');
const users = 12;
const keep = process.argv.includes('--keep');

interface Process {
    name: string;
    child: ChildProcess;
    lines: string[];
    exited: Promise<number | null>;
}

function start(name: string, file: string, args: string[], env: Record<string, string>, cwd: string): Process {
    const child = spawn(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), join(__dirname, file), ...args], {
        cwd,
        env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json'), ...env },
        stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: string[] = [];
    createInterface({ input: child.stdout! }).on('line', line => {
        lines.push(line);
        if (!line.includes('POST "/users"')) console.log(`  [${name}] ${line}`);
    });
    const exited = new Promise<number | null>(resolve => child.on('exit', code => resolve(code)));
    return { name, child, lines, exited };
}

async function until(what: string, timeout: number, condition: () => boolean): Promise<void> {
    const deadline = Date.now() + timeout;
    while (!condition()) {
        if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
        await new Promise(resolve => setTimeout(resolve, 20));
    }
}

function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
        const server = createServer().listen(0, '127.0.0.1', () => {
            const port = (server.address() as { port: number }).port;
            server.close(() => resolve(port));
        }).on('error', reject);
    });
}

async function main(): Promise<number> {
    // A temp folder as working directory: the queue file, and FrameworkModule's var/debug.
    const dir = mkdtempSync(join(tmpdir(), 'deepkit-broker-queue-demo-'));
    const port = await freePort();
    const token = randomBytes(18).toString('hex');
    const env = { APP_BROKER_QUEUE_SQLITE_PATH: join(dir, 'queue.sqlite'), APP_FRAMEWORK_PORT: String(port), EXAMPLE_DB_LATENCY_MS: '50' };
    // Only the app serves the dashboard (the workers have no HTTP server).
    const appEnv = { ...env, APP_BROKER_QUEUE_DASHBOARD_TOKEN: token };
    console.log(`Queue file: ${env.APP_BROKER_QUEUE_SQLITE_PATH}`);
    console.log('Starting two workers and the app ...');
    const workers = [start('worker-1', 'worker.ts', [], { ...env, WORKER_NAME: 'worker-1' }, dir), start('worker-2', 'worker.ts', [], { ...env, WORKER_NAME: 'worker-2' }, dir)];
    const app = start('app', 'app.ts', ['server:start'], appEnv, dir);
    const all = [...workers, app];
    try {
        // Seconds on a quiet machine (ts-node compiles each process's files); far more on a loaded one.
        await until('the workers and the app to start', 180_000, () =>
            workers.every(v => v.lines.some(line => line.includes('is consuming'))) && app.lines.some(line => line.includes('Server started')));

        console.log(`\nRegistering ${users} users: POST http://127.0.0.1:${port}/users`);
        await Promise.all(Array.from({ length: users }, async (_, i) => {
            const response = await fetch(`http://127.0.0.1:${port}/users`, {
                method: 'POST',
                headers: { 'content-type': 'application/json' },
                body: JSON.stringify({ id: i + 1, username: `user${i + 1}` }),
            });
            if (response.status !== 200) throw new Error(`POST /users answered ${response.status}: ${await response.text()}`);
        }));

        const consumed = () => workers.flatMap(worker => worker.lines.filter(line => line.startsWith('User registered:')).map(line => ({
            id: Number(/id=(\d+)/.exec(line)![1]),
            worker: worker.name,
        })));
        await until('every user to be consumed', 60_000, () => consumed().length >= users);

        console.log('\nuser  consumed by');
        const byUser = new Map<number, string[]>();
        for (const entry of consumed()) byUser.set(entry.id, [...byUser.get(entry.id) ?? [], entry.worker]);
        for (let id = 1; id <= users; id++) console.log(`${String(id).padStart(4)}  ${(byUser.get(id) ?? ['(nobody)']).join(', ')}`);
        const wrong = [...Array(users).keys()].map(i => i + 1).filter(id => byUser.get(id)?.length !== 1);
        console.log(wrong.length ? `\nNOT exactly once: users ${wrong.join(', ')}` : `\nEvery user was consumed exactly once.`);

        const dashboard = `http://127.0.0.1:${port}/_queue`;
        const overview = await fetch(`${dashboard}/api/overview`, { headers: { authorization: `Bearer ${token}` } });
        const { channels } = await overview.json() as { channels: { channel: string, doneLastHour: number }[] };
        console.log(`\nDashboard: ${dashboard}/  (log in with the token ${token})`);
        console.log(`  it shows ${channels.map(v => `'${v.channel}': ${v.doneLastHour} done in the last hour`).join(', ')}`);
        console.log(`  Prometheus metrics: curl -H 'Authorization: Bearer ${token}' ${dashboard}/metrics`);
        if (keep) {
            console.log('\nStill running (--keep): open the dashboard; Ctrl+C stops everything.');
            await new Promise(resolve => process.once('SIGINT', resolve));
        }

        console.log('\nStopping everything with SIGTERM ...');
        for (const entry of all) entry.child.kill('SIGTERM');
        const codes = await Promise.all(all.map(v => v.exited));
        all.forEach((entry, i) => console.log(`  ${entry.name} exited with code ${codes[i]}`));
        if (wrong.length || codes.some(code => code !== 0)) return 1;
        return await ormExamples(dir);
    } finally {
        for (const entry of all) if (entry.child.exitCode === null) entry.child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
    }
}

/** orm-app.ts and orm-worker.ts: the queue in the app's own ORM database, messages produced and acked in its transactions. */
async function ormExamples(dir: string): Promise<number> {
    const env = { EXAMPLE_DATABASE: join(dir, 'app.sqlite') };
    console.log(`\nDeepkit ORM examples, queue and app rows in one file: ${env.EXAMPLE_DATABASE}`);
    const worker = start('orm-worker', 'orm-worker.ts', [], env, dir);
    try {
        await until('the ORM worker to start', 180_000, () => worker.lines.some(line => line.includes('is consuming')));
        const register = start('orm-app', 'orm-app.ts', ['register', '1', '5'], env, dir);
        const rollback = start('orm-app', 'orm-app.ts', ['register', '6', '1', '--rollback'], env, dir);
        const codes = [await register.exited, await rollback.exited];
        const mails = () => worker.lines.filter(line => line.startsWith('Welcome mail for'));
        await until('five welcome mails', 60_000, () => mails().length >= 5);
        console.log('\nStopping the ORM worker with SIGTERM ...');
        worker.child.kill('SIGTERM');
        codes.push(await worker.exited);
        const users = mails().map(line => /user(\d+)/.exec(line)![1]).sort((a, b) => Number(a) - Number(b));
        const right = users.join(',') === '1,2,3,4,5';
        console.log(right
            ? '\nEach committed registration got exactly one welcome mail; the rolled-back one (user6) left no user and no message.'
            : `\nWRONG: welcome mails for users ${users.join(', ')}, expected 1 to 5`);
        console.log(`  orm-app, orm-app --rollback and orm-worker exited with codes ${codes.join(', ')}`);
        return right && codes.every(code => code === 0) ? 0 : 1;
    } finally {
        if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
    }
}

main().then(code => process.exit(code), error => {
    console.error(error);
    process.exit(1);
});
