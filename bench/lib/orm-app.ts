import { Database } from '@deepkit/orm';
import { PostgresDatabaseAdapter } from '@deepkit/postgres';
import { SQLiteDatabaseAdapter } from '@deepkit/sqlite';
import { AutoIncrement, entity, PrimaryKey } from '@deepkit/type';
import { Client } from 'pg';
import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { settings } from './settings';
import { uniqueName } from './unique-name';

/** The application row of the ORM scenarios: one per produced or consumed message. */
@entity.name('bench_row')
export class BenchRow {
    id: number & PrimaryKey & AutoIncrement = 0;
    constructor(public n: number) {
    }
}

export type OrmBackend = 'sqlite-full' | 'postgres';

/** A fresh ORM database of the backend: a SQLite file, or a PostgreSQL database of its own. */
export async function withOrmDatabase<R>(backend: OrmBackend, run: (database: Database) => Promise<R>): Promise<R> {
    if (backend === 'sqlite-full') {
        const dir = mkdtempSync(join(tmpdir(), 'bench-orm-'));
        const database = new Database(new SQLiteDatabaseAdapter(join(dir, 'app.sqlite')), [BenchRow]);
        try {
            await database.migrate();
            return await run(database);
        } finally {
            database.disconnect(true);
            rmSync(dir, { recursive: true, force: true });
        }
    }
    const name = uniqueName('bench_orm_').toLowerCase();
    await admin(`CREATE DATABASE ${name}`);
    const url = new URL(settings.postgresUrl);
    url.pathname = '/' + name;
    const database = new Database(new PostgresDatabaseAdapter(url.toString()), [BenchRow]);
    try {
        await database.migrate();
        return await run(database);
    } finally {
        database.disconnect(true);
        await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }
}

async function admin(sql: string): Promise<void> {
    const client = new Client({ connectionString: settings.postgresUrl });
    await client.connect();
    try {
        await client.query(sql);
    } finally {
        await client.end();
    }
}
