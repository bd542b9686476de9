/**
 * The short chaos run (chaos/, `npm run chaos`) on both backends: producers and
 * workers killed with kill -9 every few hundred ms and started again, and for
 * PostgreSQL a server restart in the middle; then every message is accounted for.
 */
import { ChaosOptions, defaultChaosOptions } from '../../chaos/options';
import { formatReport } from '../../chaos/report';
import { ChaosResult, runChaos } from '../../chaos/run-chaos';
import { describePostgres } from '../support/postgres';

/** Sized to take well under a minute per backend on a shared 2-core machine. */
const short: ChaosOptions = { ...defaultChaosOptions, messages: 12_000, duration: 20_000, killInterval: 400, pgRestarts: 1 };

function expectAccounted(result: ChaosResult): void {
    const a = result.analysis;
    // The report says what went wrong, with the run folder that holds the logs.
    expect({ failures: result.failures, report: formatReport(result) }).toEqual({ failures: [], report: expect.any(String) });
    expect(a.lost).toEqual([]);
    expect(a.duplicates.unexplained).toEqual([]);
    expect(a.redelivered.unexplained).toEqual([]);
    expect(a.deliveredUnknown.unexplained).toEqual([]);
    expect(a.storedTwice).toEqual([]);
    expect(result.finalStats).toMatchObject({ pending: 0, delayed: 0, inFlight: 0, failed: 0 });
    expect(a.produced).toBe(result.options.messages);
    expect(a.kills.workers).toBeGreaterThan(0);
    expect(a.kills.producers).toBeGreaterThan(0);
    expect(a.unexpectedExits).toEqual([]);
}

describe('chaos: sqlite', () => {
    test('kill -9 of producers and workers loses nothing and every duplicate has its kill', async () => {
        const result = await runChaos('sqlite', short, () => undefined);
        console.log(formatReport(result));
        expectAccounted(result);
    }, 120_000);
});

describePostgres('chaos: postgres', () => {
    test('kill -9 of producers and workers and a server restart lose nothing and every duplicate is explained', async () => {
        // describePostgres holds the restart lock exclusively for this file; the first restart ends it.
        const result = await runChaos('postgres', { ...short, restartLockHeld: true }, () => undefined);
        console.log(formatReport(result));
        expectAccounted(result);
        expect(result.restarts.length).toBeGreaterThanOrEqual(1);
    }, 150_000);
}, { exclusive: true });
