/**
 * A real `import()` that TypeScript's CommonJS output leaves alone, so
 * ESM-only packages (pg-boss from v11 on) load as well as CommonJS ones.
 */
export const importModule = new Function('specifier', 'return import(specifier)') as (specifier: string) => Promise<any>;
