import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/** A fresh folder under the OS temp dir; `remove()` deletes it. */
export function tempDir(prefix = 'dbq-') {
    const path = mkdtempSync(join(tmpdir(), prefix));
    return { path, file: (name: string) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}
