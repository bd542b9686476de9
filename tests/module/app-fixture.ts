import { App } from '@deepkit/app';
import { Logger, MemoryLogger } from '@deepkit/logger';
import { BrokerQueueConfig, BrokerQueueModule } from '../../src';

/** An app with the module on a file in `dir`, logging into memory; signal handling off unless asked. */
export function queueApp(path: string, options: { providers?: any[], config?: Partial<BrokerQueueConfig>, imports?: any[] } = {}) {
    const logger = new MemoryLogger();
    const app = new App({
        providers: [{ provide: Logger, useValue: logger }, ...(options.providers ?? [])],
        imports: [...(options.imports ?? []), new BrokerQueueModule({ sqlitePath: path, handleSignals: false, ...options.config })],
    });
    return { app, logger };
}

/** Captures what the commands print while `run` runs. */
export async function captureOutput(run: () => Promise<number>): Promise<{ code: number, stdout: string, stderr: string }> {
    let stdout = '', stderr = '';
    const out = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: any) => { stdout += chunk; return true; });
    const err = jest.spyOn(process.stderr, 'write').mockImplementation((chunk: any) => { stderr += chunk; return true; });
    try {
        const code = await run();
        return { code, stdout, stderr };
    } finally {
        out.mockRestore();
        err.mockRestore();
    }
}
