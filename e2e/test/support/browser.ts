import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * The browser the e2e tests drive: the Chromium that `CHROMIUM_PATH` names, or else the one inside
 * the `@sparticuz/chromium` npm package, so that `npm install && npm test` needs nothing from the
 * system's package manager.
 */
export const SKIP_BROWSER_TESTS = process.env.SKIP_BROWSER_TESTS === '1';

/**
 * The same flags for either browser. Not the package's own `args`: they are made for serverless
 * functions (one process for everything, which cannot open a second browser context, and the
 * same-origin policy turned off, which the CORS and CSP tests rely on).
 */
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

async function executablePath(): Promise<string> {
  const chosen = process.env.CHROMIUM_PATH;
  if (chosen === undefined) return (await import('@sparticuz/chromium')).default.executablePath();
  if (!existsSync(chosen))
    throw new Error(`CHROMIUM_PATH=${chosen}: no such file. Unset it to use the Chromium of @sparticuz/chromium.`);
  return chosen;
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: await executablePath(), args: ARGS });
}
