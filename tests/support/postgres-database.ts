import { randomBytes } from 'crypto';
import { postgresUrl, sql } from './postgres';

/** A fresh database on the test server, for tests that need a whole database (an ORM's tables and the queue's schema). */
export async function createTestDatabase(prefix = 'dbq_orm_'): Promise<{ name: string, url: string, drop(): Promise<void> }> {
    const name = prefix + randomBytes(5).toString('hex');
    await sql(`CREATE DATABASE ${name}`);
    const url = new URL(postgresUrl);
    url.pathname = '/' + name;
    return {
        name,
        url: url.toString(),
        drop: async () => {
            await sql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        },
    };
}
