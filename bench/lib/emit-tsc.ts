import { execFileSync } from 'child_process';
import { existsSync } from 'fs';

/**
 * Runs the project's (type-compiler patched) tsc. Type errors still emit JavaScript; they fail the build only
 * when `expected` was not emitted. So a run whose peers are not installed (no `npm run bench:install`, whose
 * systems then fail to type-check) can still measure our own systems, and a base commit with a type error
 * elsewhere can still be built.
 */
export function emitTsc(tsc: string, args: string[], expected: string): void {
    try {
        execFileSync(process.execPath, [tsc, ...args], { stdio: 'inherit' });
    } catch (error) {
        if (!existsSync(expected)) throw error;
        console.log(`(tsc reported the type errors above; ${expected} was emitted, going on)`);
    }
}
