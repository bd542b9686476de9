import { mkdirSync } from 'fs';
import { join } from 'path';
import { Browser, chromium } from 'playwright-core';

/** Where tests save what a person should look at (screenshots). */
export const testOutput = join(__dirname, '..', '..', '..', 'test-output', 'dashboard');

/** Debian's headless Chromium, driven by playwright-core. */
export async function launchBrowser(): Promise<Browser> {
    mkdirSync(testOutput, { recursive: true });
    return chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        headless: true,
        args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
}
