/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4):
 * HELP and TYPE lines, samples with escaped label values, and the rules a
 * scraper enforces: every sample belongs to a declared family, no family is
 * declared twice, histogram buckets are cumulative and end with le="+Inf"
 * equal to _count. Throws on anything else.
 */
export interface Sample {
    name: string;
    labels: Record<string, string>;
    value: number;
}

export interface Family {
    name: string;
    type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
    help?: string;
    samples: Sample[];
}

const key = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));
const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const labelName = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function parsePrometheusText(text: string): Map<string, Family> {
    const families = new Map<string, Family>();
    const family = (name: string) => {
        let entry = families.get(name);
        if (!entry) families.set(name, entry = { name, type: 'untyped', samples: [] });
        return entry;
    };
    text.split('\n').forEach((line, index) => {
        const fail = (why: string) => { throw new Error(`line ${index + 1}: ${why}: ${line}`); };
        if (!line.trim()) return;
        if (line.startsWith('#')) {
            const match = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
            if (!match) return;
            const [, kind, name, rest] = match;
            if (!metricName.test(name)) fail('bad metric name');
            const entry = family(name);
            if (kind === 'HELP') entry.help = rest;
            else {
                if (entry.samples.length || entry.type !== 'untyped') fail('TYPE after samples or twice');
                if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) fail('unknown type');
                entry.type = rest as Family['type'];
            }
            return;
        }
        const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)( -?\d+)?$/.exec(line);
        if (!match) fail('not a sample');
        const [, name, , labelText, valueText] = match!;
        const labels: Record<string, string> = {};
        let rest = labelText ?? '';
        while (rest.length) {
            const label = /^([^=]+)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
            if (!label || !labelName.test(label[1])) fail('bad labels');
            labels[label![1]] = label![2].replace(/\\(.)/g, (_, c) => c === 'n' ? '\n' : c);
            rest = rest.slice(label![0].length);
        }
        const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : Number(valueText);
        if (Number.isNaN(value) && valueText !== 'NaN') fail('bad value');
        const base = [...families.keys()].find(f => name === f || (['_bucket', '_sum', '_count', '_total'].some(s => name === f + s)));
        if (!base) fail('sample of an undeclared family');
        families.get(base!)!.samples.push({ name, labels, value });
    });
    for (const entry of families.values()) if (entry.type === 'histogram') checkHistogram(entry);
    return families;
}

function checkHistogram(family: Family): void {
    const series = new Map<string, Sample[]>();
    for (const sample of family.samples.filter(v => v.name.endsWith('_bucket'))) {
        const { le, ...rest } = sample.labels;
        series.set(key(rest), [...series.get(key(rest)) ?? [], sample]);
    }
    for (const [labels, buckets] of series) {
        let previous = -Infinity;
        for (const bucket of buckets) {
            if (bucket.value < previous) throw new Error(`${family.name}${labels}: buckets are not cumulative`);
            previous = bucket.value;
        }
        const last = buckets[buckets.length - 1];
        if (last.labels.le !== '+Inf') throw new Error(`${family.name}${labels}: the last bucket is not le="+Inf"`);
        const count = family.samples.find(v => v.name === family.name + '_count' && key(v.labels) === labels);
        if (!count || count.value !== last.value) throw new Error(`${family.name}${labels}: _count differs from the +Inf bucket`);
    }
}

/** The value of the sample with exactly these labels (the family's own name unless `name` says otherwise). */
export function sampleValue(families: Map<string, Family>, family: string, labels: Record<string, string>, name = family): number | undefined {
    return families.get(family)?.samples.find(v => v.name === name && key(v.labels) === key(labels))?.value;
}
