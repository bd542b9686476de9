/** Another OS user for tests of what two users sharing a host see: nobody, which every Linux has. */
export const nobody = { uid: 65534, gid: 65534 };

const isRoot = process.getuid?.() === 0;

/**
 * `test` for what needs root (running a process as another OS user, mounting): under CI it fails
 * without root, never skips; elsewhere it says why it skips.
 */
export function asRootTest(name: string, body: () => Promise<void>, timeout = 60_000): void {
    if (isRoot) {
        test(name, body, timeout);
        return;
    }
    const why = `needs root (runs a process as uid ${nobody.uid}, may mount)`;
    if (process.env.CI) {
        test(name, () => { throw new Error(`${why}; it must not skip in CI (CI is set)`); });
        return;
    }
    console.warn(`test '${name}' SKIPPED: ${why}`);
    test.skip(name, body);
}
