import { median } from '../stats';

/** `x`: a ratio of two measurements. */
export type Unit = 'msg/s' | 'ms' | 'µs' | 'MB' | '%' | 'x' | 'messages' | 's';

/** One measured quantity of a scenario: every repetition's value per system. */
export class Metric {
    readonly values = new Map<string, number[]>();

    constructor(readonly name: string, readonly unit: Unit, readonly higherIsBetter: boolean) {
    }

    add(system: string, value: number): void {
        if (!this.values.has(system)) this.values.set(system, []);
        this.values.get(system)!.push(value);
    }

    median(system: string): number | undefined {
        const values = this.values.get(system);
        return values?.length ? median(values) : undefined;
    }

    /** How many times better `ours` is than `peer` (>1: ours wins); undefined when either is missing or zero. */
    ratio(ours: string, peer: string): number | undefined {
        const a = this.median(ours), b = this.median(peer);
        if (a === undefined || b === undefined || a === 0 || b === 0) return undefined;
        return this.higherIsBetter ? a / b : b / a;
    }

    format(value: number | undefined): string {
        if (value === undefined) return '–';
        switch (this.unit) {
            case 'msg/s': return `${Math.round(value).toLocaleString('en-US')}/s`;
            case 'ms': return `${value.toFixed(2)} ms`;
            case 'µs': return `${value.toFixed(0)} µs`;
            case 'MB': return `${value.toFixed(1)} MB`;
            case '%': return `${value.toFixed(2)} %`;
            case 'x': return `${value.toFixed(2)}x`;
            case 'messages': return Math.round(value).toLocaleString('en-US');
            case 's': return `${value.toFixed(1)} s`;
        }
    }
}
