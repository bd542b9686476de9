/**
 * A child of the chaos run ends when the run does: its stdin is a pipe from
 * the run, which closes when the run's process is gone, however it died.
 * Without this, workers of an interrupted run would consume forever.
 */
export function exitWithParent(): void {
    process.stdin.on('end', () => process.exit(1));
    process.stdin.on('error', () => process.exit(1));
    process.stdin.resume();
}
