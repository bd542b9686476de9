/**
 * The ORM packages are optional peers: a queue that does not use them never loads them (nor pg).
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { tempDir } from '../support/temp';

test('a SQLite queue that produces and consumes loads no ORM package and no pg', () => {
    const dir = tempDir();
    try {
        const root = join(__dirname, '..', '..');
        const script = `
            const { BrokerQueue, SqliteQueueAdapter } = require(${JSON.stringify(join(root, 'src'))});
            (async () => {
                const queue = new BrokerQueue(new SqliteQueueAdapter({ path: process.argv[1] }), { logger: { error() {}, warn() {}, log() {}, debug() {} } });
                const channel = queue.channel('jobs', undefined, { kind: require('@deepkit/type').ReflectionKind.string });
                await channel.produce('x');
                await new Promise(resolve => channel.consume(() => resolve()));
                await queue.close();
                const loaded = Object.keys(require.cache).filter(path => /node_modules\\/(@deepkit\\/(orm|sql|sqlite|postgres)|pg)\\//.test(path));
                console.log(JSON.stringify(loaded));
            })();`;
        const result = spawnSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script, dir.file('queue.sqlite')], {
            cwd: root, encoding: 'utf8', env: { ...process.env, TS_NODE_PROJECT: join(root, 'tsconfig.json') }, timeout: 120_000,
        });
        expect(result.stderr).toBe('');
        expect(JSON.parse(result.stdout.trim().split('\n').pop()!)).toEqual([]);
    } finally {
        dir.remove();
    }
});
