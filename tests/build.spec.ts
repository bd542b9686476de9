/**
 * The published dist/ must carry runtime types: built by plain `tsc` with the
 * Deepkit type compiler applied (npm ci's deepkit-type-install patch).
 */
import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'fs';
import { join } from 'path';

test('npm run build emits dist/ with runtime types', () => {
    const root = join(__dirname, '..');
    // Inside the project (var/ is ignored), so the build resolves node_modules like a published dist/.
    mkdirSync(join(root, 'var'), { recursive: true });
    const dir = { path: mkdtempSync(join(root, 'var', 'build-test-')) };
    try {
        execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', dir.path], { cwd: root, stdio: 'pipe' });
        const script = `
            const { ReflectionClass } = require('@deepkit/type');
            const dist = require(${JSON.stringify(dir.path)});
            const names = ReflectionClass.from(dist.BrokerQueueMessage).getPropertyNames();
            process.stdout.write(JSON.stringify({ names, exports: Object.keys(dist) }));
        `;
        const result = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: root }).toString());
        expect(result.names).toEqual(expect.arrayContaining(['id', 'channel', 'data', 'attempt']));
        expect(result.exports).toEqual(expect.arrayContaining([
            'BrokerQueue', 'BrokerQueueChannel', 'BrokerQueueMessage', 'QueueMessageProcessing', 'SqliteQueueAdapter',
            'QueueError', 'QueueOptionError', 'QueueValidationError', 'QueueStorageError', 'QueueStorageBusyError', 'QueueClosedError',
        ]));
    } finally {
        rmSync(dir.path, { recursive: true, force: true });
    }
});
