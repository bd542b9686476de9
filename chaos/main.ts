/**
 * `npm run chaos [-- --backend sqlite|postgres|both --messages 12000 ...]`: see README, "Chaos run".
 * Exits 1 when a backend's run lost a message, has an unexplained duplicate,
 * a failed message, or did not drain in time.
 */
import { describeOptions, parseChaosOptions } from './options';
import { explanationRule, formatReport } from './report';
import { runChaos } from './run-chaos';

// Ctrl-C: exit, which kills the run's processes (fleet.ts); a PostgreSQL run's schema chaos_* is left behind.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

void (async () => {
    const options = parseChaosOptions(process.argv.slice(2));
    console.log(`chaos: ${describeOptions(options)}`);
    console.log(`chaos: ${explanationRule}`);
    let failed = false;
    for (const backend of options.backends) {
        const result = await runChaos(backend, options);
        console.log(formatReport(result));
        failed ||= result.failures.length > 0;
    }
    process.exit(failed ? 1 : 0);
})().catch(error => {
    console.error(error);
    process.exit(1);
});
