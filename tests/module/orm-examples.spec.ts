/**
 * examples/orm-app.ts and examples/orm-worker.ts as real processes, on SQLite and on PostgreSQL:
 * BrokerQueueModule.forDatabase(AppDatabase) stores the queue in the app's database; each
 * registration gets its user row and exactly one welcome-mail row, a rolled-back one neither.
 */
import { Database } from '@deepkit/orm';
import { PostgresDatabaseAdapter } from '@deepkit/postgres';
import { SQLiteDatabaseAdapter } from '@deepkit/sqlite';
import { join } from 'path';
import { RegisteredUser, WelcomeMail } from '../../examples/orm-database';
import { Child } from '../support/child';
import { describePostgres } from '../support/postgres';
import { createTestDatabase } from '../support/postgres-database';
import { tempDir } from '../support/temp';
import { waitFor } from '../support/wait';

const examples = join(__dirname, '..', '..', 'examples');
const startup = 180_000;

function examplesSuite(name: string, open: () => Promise<{ target: string, cleanup(): Promise<void> }>) {
    describe(`the ORM example apps on ${name}`, () => {
        let dir: ReturnType<typeof tempDir>;
        let target: string;
        let cleanup: () => Promise<void>;
        let children: Child[] = [];

        beforeEach(async () => {
            dir = tempDir();
            ({ target, cleanup } = await open());
            children = [];
        });

        afterEach(async () => {
            for (const child of children) child.kill('SIGKILL');
            await Promise.all(children.map(v => v.exited));
            await cleanup();
            dir.remove();
        });

        function start(file: string, args: string[] = []): Child {
            const child = new Child(join(examples, file), args, { EXAMPLE_DATABASE: target, NODE_PATH: join(__dirname, '..', '..', 'node_modules') }, dir.path);
            children.push(child);
            return child;
        }

        test('registrations commit with their message; the worker writes one welcome mail each; a rollback leaves nothing', async () => {
            const worker = start('orm-worker.ts');
            await worker.waitForLine("Worker is consuming 'user/registered'", startup);
            const register = start('orm-app.ts', ['register', '1', '10']);
            expect(await register.exited).toEqual({ code: 0, signal: null });
            const rollback = start('orm-app.ts', ['register', '11', '1', '--rollback']);
            expect(await rollback.exited).toEqual({ code: 0, signal: null });
            expect(rollback.lines).toContain('Error: Registration of user11 rolled back');

            const database = new Database(target.startsWith('postgres') ? new PostgresDatabaseAdapter(target) : new SQLiteDatabaseAdapter(target), [RegisteredUser, WelcomeMail]);
            try {
                await waitFor(async () => await database.query(WelcomeMail).count() >= 10, 'ten welcome mails', 60_000, 50);
                const mails = (await database.query(WelcomeMail).find()).map(v => v.userId).sort((a, b) => a - b);
                expect(mails).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
                expect((await database.query(RegisteredUser).find()).map(v => v.id).sort((a, b) => a - b)).toEqual(mails);
            } finally {
                database.disconnect(true);
            }
            worker.kill('SIGTERM');
            expect(await worker.exited).toEqual({ code: 0, signal: null });
            expect(worker.lines.filter(v => v.startsWith('Welcome mail for user11'))).toEqual([]);
        }, 400_000);
    });
}

examplesSuite('SQLite', async () => {
    const dir = tempDir();
    return { target: dir.file('app.sqlite'), cleanup: async () => dir.remove() };
});

describePostgres('ORM examples on PostgreSQL', () => {
    examplesSuite('PostgreSQL', async () => {
        const db = await createTestDatabase();
        return { target: db.url, cleanup: db.drop };
    });
});
