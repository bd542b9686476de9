import { BenchMessage, message } from '../bench-types';
import { BenchSystem, WorkerConfig } from '../systems/bench-system';
import { driver, selectedSystems } from '../systems/registry';
import { Metric } from './metric';
import { markdownTables, printMetric } from './report';
import { settings } from './settings';

export type Scenario = (systems: string[]) => Promise<Metric[]>;

/** Fresh storage for one measurement, always torn down (schemas, queues, files). */
export async function withSystem<R>(name: string, run: (system: BenchSystem, config: WorkerConfig) => Promise<R>): Promise<R> {
    const system = driver(name).createSystem();
    try {
        const config = await system.setup();
        return await run(system, config);
    } finally {
        await system.teardown();
    }
}

/** Runs `measure` for every system in every repetition, systems interleaved so machine noise hits all alike. */
export async function interleaved(systems: string[], measure: (system: string, repetition: number) => Promise<void>): Promise<void> {
    for (let r = 0; r < settings.repeat; r++) {
        for (const system of systems) await measure(system, r);
    }
}

export async function prefill(system: BenchSystem, count: number): Promise<void> {
    for (let i = 0; i < count; i += settings.bulkSize) {
        await system.produceBulk(batch(i, Math.min(settings.bulkSize, count - i)));
    }
}

export function batch(from: number, size: number): BenchMessage[] {
    return Array.from({ length: size }, (_, i) => message(from + i));
}

export const sleep = (ms: number) => new Promise<void>(resolve => setTimeout(resolve, ms));

/** Runs scenarios and prints each metric when done; returns every metric. */
export async function runScenarios(scenarios: Scenario[], systems = selectedSystems()): Promise<{ metrics: Metric[], systems: string[] }> {
    const metrics: Metric[] = [];
    for (const scenario of scenarios) {
        for (const metric of await scenario(systems)) {
            printMetric(metric, systems);
            metrics.push(metric);
        }
    }
    return { metrics, systems };
}

/** `npm run bench:<scenario>`: one scenario, its tables, exit 0 (or 1 on an error). */
export function runStandalone(scenario: Scenario): void {
    runScenarios([scenario])
        .then(({ metrics, systems }) => {
            console.log('\n' + markdownTables(metrics, systems));
            process.exit(0);
        })
        .catch(error => {
            console.error(error);
            process.exit(1);
        });
}
