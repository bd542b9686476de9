import { Client } from 'pg';

/** Drops a benchmark's schema and everything in it. */
export async function dropSchema(connectionString: string, schema: string): Promise<void> {
    if (!/^[a-z0-9_]+$/.test(schema)) throw new Error(`Refusing to drop the schema ${JSON.stringify(schema)}`);
    const client = new Client({ connectionString });
    await client.connect();
    try {
        await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
        await client.end();
    }
}
