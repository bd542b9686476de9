/**
 * `npm run bench:chart`: draws the first ratio table of bench/RESULTS.md
 * (as printed by `npm run bench`) as bench/results-chart.svg: one row per
 * scenario, one bar per ours-vs-peer pair, on a log scale where 1x is even.
 */
import { readFileSync, writeFileSync } from 'fs';
import { join } from 'path';

const pairs = ['sqlite-full ÷ bullmq', 'sqlite-full ÷ pg-boss', 'sqlite-full ÷ graphile-worker', 'postgres ÷ pg-boss', 'postgres ÷ graphile-worker'];
const colors = ['#d62728', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b'];

const markdown = readFileSync(join(__dirname, 'RESULTS.md'), 'utf8').split('\n');
const header = markdown.findIndex(line => line.startsWith('| ratio, >1: ours wins'));
if (header < 0) throw new Error('bench/RESULTS.md has no ratio table');
const cells = (line: string) => line.split('|').slice(1, -1).map(v => v.trim());
const columns = cells(markdown[header]);
const rows: { scenario: string, ratios: (number | undefined)[] }[] = [];
for (let i = header + 2; markdown[i]?.startsWith('|'); i++) {
    const row = cells(markdown[i]);
    rows.push({ scenario: row[0], ratios: pairs.map(pair => {
        const value = parseFloat(row[columns.indexOf(pair)]);
        return Number.isFinite(value) && value > 0 ? value : undefined;
    }) });
}

const left = 330, scale = 60, barHeight = 6, rowHeight = pairs.length * barHeight + 10, top = 50;
const center = left + 4 * scale;
const width = center + 9 * scale, height = top + rows.length * rowHeight + 20;
const x = (ratio: number) => center + Math.max(-4, Math.min(9, Math.log2(ratio))) * scale;
const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...pairs.map((pair, i) => `<rect x="${left + i * 150}" y="8" width="10" height="10" fill="${colors[i]}"/><text x="${left + i * 150 + 14}" y="17">${escape(pair)}</text>`),
    ...[-4, -2, 0, 2, 4, 6, 8].map(p => `<line x1="${center + p * scale}" y1="${top - 8}" x2="${center + p * scale}" y2="${height - 20}" stroke="${p ? '#ddd' : '#000'}"/><text x="${center + p * scale}" y="${top - 12}" text-anchor="middle">${2 ** p}x</text>`),
    ...rows.flatMap((row, r) => [
        `<text x="${left - 6}" y="${top + r * rowHeight + rowHeight / 2}" text-anchor="end">${escape(row.scenario)}</text>`,
        ...row.ratios.map((ratio, i) => ratio === undefined ? '' : `<rect x="${Math.min(center, x(ratio))}" y="${top + r * rowHeight + i * barHeight}" width="${Math.abs(x(ratio) - center)}" height="${barHeight - 1}" fill="${colors[i]}"><title>${ratio}x</title></rect>`),
    ]),
    `<text x="${center}" y="${height - 5}" text-anchor="middle">ours ÷ peer, log scale: right of 1x ours wins (throughput ours/peer, latency, CPU and RSS peer/ours)</text>`,
    '</svg>',
];
writeFileSync(join(__dirname, 'results-chart.svg'), svg.join('\n') + '\n');
console.log(`wrote bench/results-chart.svg (${rows.length} scenarios)`);
