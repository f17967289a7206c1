import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/**
 * Debian's Chromium for the browser tests, never a downloaded one. A missing binary is a failure
 * with instructions, not a skip: the dashboard would otherwise ship untested.
 */
export const CHROMIUM_PATH = process.env.GATEHOUSE_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Whether the dashboard's browser tests run here. They always run in CI (.ci/run installs Chromium
 * and sets GATEHOUSE_REQUIRE_BROWSER=1; `CI=true` counts too), where a missing binary fails with
 * the launch error. On a developer machine
 * without Chromium they are skipped with a warning naming the package, so `npm test` keeps passing
 * on a machine with only Node and redis-server, as the README promises.
 */
export function browserTestsEnabled(): boolean {
  if (existsSync(CHROMIUM_PATH) || process.env.CI === 'true' || process.env.GATEHOUSE_REQUIRE_BROWSER === '1') return true;
  process.stderr.write(
    `\n⚠ dashboard browser tests SKIPPED: no Chromium at ${CHROMIUM_PATH}. ` +
      'Install Debian\'s package (`sudo apt-get install -y chromium`) or set GATEHOUSE_CHROMIUM; CI always runs them.\n\n',
  );
  return false;
}

export const SCREENSHOT_DIR = join(process.cwd(), 'test', '.tmp');

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

export async function launchChromium(executablePath = CHROMIUM_PATH): Promise<Browser> {
  if (!existsSync(executablePath)) {
    throw new Error(
      `the browser tests need Chromium at ${executablePath}, which is missing. Install Debian's package: ` +
        '`sudo apt-get update && sudo apt-get install -y chromium` (.ci/run does this), ' +
        'or point GATEHOUSE_CHROMIUM at an installed Chromium binary.',
    );
  }
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const userDataDir = mkdtempSync(join(tmpdir(), 'gatehouse-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1366, height: 860 },
    timeout: 20_000,
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A new page signed in to the dashboard at `baseUrl` with `token` through the sign-in form. Page
 * errors and console errors go to `problems` — except Chromium's own line for a 4xx answer, which
 * tests provoke on purpose (a refused write); anything else (a CSP violation, a script error) is a bug.
 */
export async function signedInPage(browser: Browser, baseUrl: string, token: string, problems: string[]): Promise<Page> {
  const page = await browser.context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) problems.push(`console: ${msg.text()}`);
  });
  await page.goto(`${baseUrl}/ui/`);
  await page.getByLabel('Admin token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Tenants' }).waitFor();
  return page;
}
