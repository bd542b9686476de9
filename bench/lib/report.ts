import { baseOf, ours, peers } from '../systems/registry';
import { Metric } from './metric';

function ratio(value: number | undefined): string {
    return value === undefined ? '–' : `${value.toFixed(2)}x`;
}

/** The ours-vs-peer pairs that exist in this run. */
function pairs(systems: string[]): [string, string][] {
    const result: [string, string][] = [];
    for (const a of ours) for (const b of peers) if (systems.includes(a) && systems.includes(b)) result.push([a, b]);
    return result;
}

/** This checkout against BENCH_BASE's code, for the systems of this run that have both. */
function basePairs(systems: string[]): [string, string][] {
    return ours.filter(v => systems.includes(v) && systems.includes(baseOf(v))).map(v => [v, baseOf(v)]);
}

/** A scenario's medians and ratios, as soon as it is done. */
export function printMetric(metric: Metric, systems: string[]): void {
    console.log(`\n${metric.name}`);
    for (const system of systems) {
        const values = metric.values.get(system) ?? [];
        console.log(`  ${system.padEnd(16)} ${metric.format(metric.median(system)).padStart(14)}   runs: ${values.map(v => metric.format(v)).join(', ')}`);
    }
    const ratios = pairs(systems).map(([a, b]) => `${a} vs ${b} ${ratio(metric.ratio(a, b))}`);
    if (ratios.length) console.log(`  ratios (>1: ours wins): ${ratios.join('; ')}`);
    const changes = basePairs(systems).map(([a, b]) => `${a} vs ${b} ${ratio(metric.ratio(a, b))}`);
    if (changes.length) console.log(`  against BENCH_BASE (>1: this checkout better): ${changes.join('; ')}`);
}

/** The two markdown tables for bench/RESULTS.md: medians, then ours-vs-peer ratios. */
export function markdownTables(metrics: Metric[], systems: string[]): string {
    const lines = [
        `| scenario | ${systems.join(' | ')} |`,
        `| --- | ${systems.map(() => '---:').join(' | ')} |`,
        ...metrics.map(m => `| ${m.name} | ${systems.map(s => m.format(m.median(s))).join(' | ')} |`),
    ];
    const columns = pairs(systems);
    if (columns.length) {
        lines.push('', `| ratio, >1: ours wins | ${columns.map(([a, b]) => `${a} ÷ ${b}`).join(' | ')} |`, `| --- | ${columns.map(() => '---:').join(' | ')} |`);
        for (const m of metrics) lines.push(`| ${m.name} | ${columns.map(([a, b]) => ratio(m.ratio(a, b))).join(' | ')} |`);
    }
    // A table of its own: bench/chart.ts draws the ours-vs-peer one.
    const changes = basePairs(systems);
    if (changes.length) {
        lines.push('', `| against BENCH_BASE, >1: this checkout better | ${changes.map(([a, b]) => `${a} ÷ ${b}`).join(' | ')} |`, `| --- | ${changes.map(() => '---:').join(' | ')} |`);
        for (const m of metrics) lines.push(`| ${m.name} | ${changes.map(([a, b]) => ratio(m.ratio(a, b))).join(' | ')} |`);
    }
    return lines.join('\n');
}
