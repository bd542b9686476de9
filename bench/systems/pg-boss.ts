import type PgBossType from 'pg-boss';
import { BenchMessage } from '../bench-types';
import { importModule } from '../lib/import-esm';
import { dropSchema } from '../lib/postgres-schema';
import { settings as benchSettings } from '../lib/settings';
import { uniqueName } from '../lib/unique-name';
import { BenchDriver, BenchSystem, StartConsumer, WorkerConfig } from './bench-system';

type PgBoss = PgBossType;

async function newBoss(connectionString: string, schema: string): Promise<PgBoss> {
    const module = await importModule('pg-boss');
    const PgBossClass: typeof PgBossType = module.default ?? module.PgBoss;
    const boss = new PgBossClass({ connectionString, schema });
    boss.on('error', error => console.error('pg-boss:', error));
    await boss.start();
    return boss;
}

/** pg-boss on the local PostgreSQL; each setup() is a fresh schema, dropped by teardown(). */
class PgBossSystem implements BenchSystem {
    readonly name = 'pg-boss';
    protected boss?: PgBoss;
    protected schema?: string;

    async setup(): Promise<WorkerConfig> {
        this.schema = uniqueName('bench_pgboss');
        this.boss = await newBoss(benchSettings.postgresUrl, this.schema);
        await this.boss.createQueue('bench');
        return { connectionString: benchSettings.postgresUrl, schema: this.schema };
    }

    async produce(message: BenchMessage): Promise<void> {
        await this.boss!.send('bench', message);
    }

    async produceBulk(list: BenchMessage[]): Promise<void> {
        await this.boss!.insert(list.map(data => ({ name: 'bench', data })));
    }

    async teardown(): Promise<void> {
        await this.boss?.stop({ graceful: false, wait: true });
        if (this.schema) await dropSchema(benchSettings.postgresUrl, this.schema);
        this.boss = this.schema = undefined;
    }
}

/**
 * pg-boss 10's worker fetches `batchSize` jobs per poll and waits out the
 * polling interval between fetches, found jobs or not; its documented way to
 * go faster is a bigger batch. The handler runs the batch with at most
 * `concurrency` jobs at once; pg-boss completes the batch when it resolves.
 */
const startConsumer: StartConsumer = async (config, handler, concurrency) => {
    const boss = await newBoss(String(config.connectionString), String(config.schema));
    const options = { batchSize: benchSettings.pgBossBatch, pollingIntervalSeconds: benchSettings.pgBossPoll };
    await boss.work<BenchMessage>('bench', options, async jobs => {
        let next = 0;
        await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, async () => {
            while (next < jobs.length) await handler(jobs[next++].data);
        }));
    });
    return { stop: () => boss.stop({ graceful: true, wait: true }) };
};

export const pgBoss: BenchDriver = {
    createSystem: () => new PgBossSystem(),
    startConsumer,
    settings: `\`send\` / \`insert\`; \`work\` with \`batchSize\` ${benchSettings.pgBossBatch} (default 1) and \`pollingIntervalSeconds\` ${benchSettings.pgBossPoll} (default 2, minimum 0.5), the batch run at most \`concurrency\` at a time; other options default`,
};
