import { copyFileSync, cpSync, mkdirSync, readFileSync } from 'fs';
import { join } from 'path';
import type BetterSqlite3 from 'better-sqlite3';

/**
 * A second copy of better-sqlite3 in this process, as npm installs one when
 * `@deepkit/sqlite` (better-sqlite3 ^11) and we (^12) disagree: another module
 * instance and another native library (a copied `.node` file is loaded by the
 * dynamic linker as a library of its own, with its own SQLite).
 */
export function loadSecondSqlite(folder: string): typeof BetterSqlite3 {
    const source = join(require.resolve('better-sqlite3/package.json'), '..');
    const target = join(folder, 'better-sqlite3-copy');
    cpSync(join(source, 'lib'), join(target, 'lib'), { recursive: true });
    mkdirSync(join(target, 'build'));
    const binding = join(target, 'build', 'better_sqlite3.node');
    copyFileSync(join(source, 'build', 'Release', 'better_sqlite3.node'), binding);
    const Copy = require(join(target, 'lib', 'index.js')) as typeof BetterSqlite3;
    // A constructor like better-sqlite3's own, bound to the copied library.
    const SecondSqlite = function (this: unknown, path: string, options: object = {}) {
        return new Copy(path, { ...options, nativeBinding: binding });
    } as unknown as typeof BetterSqlite3;
    Object.defineProperty(SecondSqlite, Symbol.hasInstance, { value: (value: unknown) => value instanceof Copy });
    return SecondSqlite;
}

/** How many distinct better-sqlite3 native libraries this process has mapped. */
export function loadedSqliteLibraries(): number {
    const maps = readFileSync('/proc/self/maps', 'utf8').split('\n').filter(line => line.endsWith('better_sqlite3.node'));
    return new Set(maps.map(line => line.split(/\s+/)[5])).size;
}
