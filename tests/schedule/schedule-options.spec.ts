/**
 * Schedule options and tick times, without storage: what is rejected before anything is
 * stored, and which ticks a scheduler enqueues after downtime under each catch-up policy.
 */
import { parseScheduleOptions, QueueOptionError, ScheduleOptions } from '../../src';
import { ScheduleTimes } from '../../src/schedule/schedule-times';

const hour = 3_600_000;
const at = (iso: string) => new Date(iso).getTime();
const iso = (ms: number) => new Date(ms).toISOString();
const times = (options: ScheduleOptions) => new ScheduleTimes(parseScheduleOptions(options));

describe('schedule options', () => {
    test('defaults: catchUp latest, limit 100; every in ms; timezone kept', () => {
        expect(parseScheduleOptions({ every: '5m' })).toEqual({ every: 300_000, catchUp: 'latest', catchUpLimit: 100 });
        expect(parseScheduleOptions({ cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'all', catchUpLimit: 3 }))
            .toEqual({ cron: '0 3 * * *', timezone: 'Europe/Berlin', catchUp: 'all', catchUpLimit: 3 });
    });

    test.each([
        [{ cron: 'bad' }, `Option 'cron' has the invalid pattern "bad"`],
        [{ cron: '61 * * * *' }, `Option 'cron' has the invalid pattern "61 * * * *"`],
        [{ cron: '0 0 30 2 *' }, `"0 0 30 2 *", which never matches a date`],
        [{ cron: '0 3 * * *', timezone: 'Mars/Olympus' }, `Option 'timezone' has the unknown time zone "Mars/Olympus"`],
        [{ cron: '0 3 * * *', timezone: '' }, `Option 'timezone' must be an IANA time zone`],
        [{ every: '50ms' }, `Option 'every' must be a finite duration of at least 100ms`],
        [{ every: '5 minutes' }, `Option 'every' has the invalid duration "5 minutes"`],
        [{ every: '5m', timezone: 'UTC' }, `Option 'timezone' applies to 'cron' schedules only`],
        [{ every: '5m', cron: '* * * * *' }, `exactly one of 'cron'`],
        [{}, `exactly one of 'cron'`],
        [{ every: '5m', catchUp: 'sometimes' }, `Option 'catchUp' must be 'latest', 'none' or 'all', got "sometimes"`],
        [{ every: '5m', catchUpLimit: 0 }, `Option 'catchUpLimit' must be an integer from 1 to 10000`],
        [{ every: '5m', at: 3 }, `Unknown schedule option 'at'`],
    ] as [any, string][])('%j is a QueueOptionError naming it', (options, message) => {
        const error = (() => { try { parseScheduleOptions(options); } catch (e) { return e; } })();
        expect(error).toBeInstanceOf(QueueOptionError);
        expect((error as Error).message).toContain(message);
    });
});

describe('schedule tick times', () => {
    test('every: multiples of the interval since the epoch, strictly after now', () => {
        const every = times({ every: '5m' });
        expect(iso(every.after(at('2024-05-01T10:07:12Z')))).toBe('2024-05-01T10:10:00.000Z');
        expect(iso(every.after(at('2024-05-01T10:10:00Z')))).toBe('2024-05-01T10:15:00.000Z');
    });

    test('cron in a time zone follows its DST change (03:00 Berlin is 02:00Z in winter, 01:00Z in summer)', () => {
        const nightly = times({ cron: '0 3 * * *', timezone: 'Europe/Berlin' });
        expect(iso(nightly.after(at('2024-03-29T12:00:00Z')))).toBe('2024-03-30T02:00:00.000Z');
        expect(iso(nightly.after(at('2024-03-30T12:00:00Z')))).toBe('2024-03-31T01:00:00.000Z');
        expect(iso(times({ cron: '0 3 * * *' }).after(at('2024-03-30T12:00:00Z')))).toBe('2024-03-31T03:00:00.000Z');
    });

    test('on time: the one due tick is enqueued under every policy', () => {
        for (const catchUp of ['latest', 'none', 'all'] as const) {
            expect(times({ every: '1h', catchUp }).due(at('2024-05-01T10:00:00Z'), at('2024-05-01T10:00:00.040Z'), 5000))
                .toEqual({ ticks: [at('2024-05-01T10:00:00Z')], next: at('2024-05-01T11:00:00Z'), skipped: 0, skippedMore: false });
        }
    });

    // Six hourly ticks passed while no scheduler ran: 04:30 to 09:30, the latest 30 minutes ago.
    const first = at('2024-05-01T04:30:00Z'), now = at('2024-05-01T10:00:00Z');

    test("after downtime, 'latest' (the default) enqueues one message, for the latest missed tick", () => {
        expect(times({ every: '1h' }).due(first, now, 5000))
            .toEqual({ ticks: [at('2024-05-01T09:30:00Z')], next: at('2024-05-01T11:00:00Z'), skipped: 5, skippedMore: false });
    });

    test("after downtime, 'none' enqueues nothing: the latest tick is more than the tolerance late", () => {
        expect(times({ every: '1h', catchUp: 'none' }).due(first, now, 5000))
            .toEqual({ ticks: [], next: at('2024-05-01T11:00:00Z'), skipped: 6, skippedMore: false });
        // A tick within the tolerance is on time, not missed.
        expect(times({ every: '1h', catchUp: 'none' }).due(first, first + 4000, 5000).ticks).toEqual([first]);
    });

    test("after downtime, 'all' enqueues every missed tick, at most the latest catchUpLimit", () => {
        expect(times({ every: '1h', catchUp: 'all' }).due(first, now, 5000).ticks).toEqual([0, 1, 2, 3, 4, 5].map(n => first + n * hour));
        expect(times({ every: '1h', catchUp: 'all', catchUpLimit: 2 }).due(first, now, 5000))
            .toEqual({ ticks: [first + 4 * hour, first + 5 * hour], next: at('2024-05-01T11:00:00Z'), skipped: 4, skippedMore: false });
    });

    test('cron catch-up: ticks counted by croner, bounded after a long downtime', () => {
        const seconds = (catchUp: ScheduleOptions['catchUp'], catchUpLimit?: number) => times({ cron: '* * * * * *', catchUp, ...catchUpLimit ? { catchUpLimit } : {} });
        const from = at('2024-05-01T12:00:00Z'), later = at('2024-05-01T12:00:05.500Z');
        expect(seconds('all').due(from, later, 5000)).toEqual({
            ticks: [0, 1, 2, 3, 4, 5].map(n => from + n * 1000), next: at('2024-05-01T12:00:06Z'), skipped: 0, skippedMore: false,
        });
        expect(seconds('all', 2).due(from, later, 5000).ticks).toEqual([from + 4000, from + 5000]);
        // A day of per-second ticks: one message, and the count says "more than".
        const dayLate = seconds('latest').due(from - 86_400_000, later, 5000);
        expect(dayLate).toEqual({ ticks: [from + 5000], next: at('2024-05-01T12:00:06Z'), skipped: 100, skippedMore: true });
    });
});
