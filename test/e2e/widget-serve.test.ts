import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, startServe, type ServeProcess } from '../support/serve-process.js';
import { browserTestsEnabled, launchChromium, SCREENSHOT_DIR, type Browser } from './browser.js';
import { widgetAnswer, widgetResult } from './example-widget.js';

/**
 * The example widget's own set-up, end to end: the one command examples/widget/README.md documents
 * (`node examples/widget/serve.mjs`, run from a folder laid out like the checkout, reading the admin
 * token from .gatehouse/admin.token) against the real `gatehouse serve` binary started as the README
 * says (UPSTREAM_ALLOW_HTTP=true UPSTREAM_ALLOW_CIDRS=127.0.0.1/32). The command starts its own demo
 * upstream on 127.0.0.1 and serves the composite's registry as a local Git repository; the page it
 * serves is then driven in Chromium. Only `--port 0` is added (5173 may be taken on this machine).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TOKEN = 'widget-serve-admin-token-0123456789';
const readme = readFileSync(join(root, 'examples', 'widget', 'README.md'), 'utf8');
/** The documented command: the first line of the README's `sh` block that runs serve.mjs. */
const documented = /```sh\n\s*(node examples\/widget\/serve\.mjs)\b/.exec(readme)?.[1];

interface Run {
  child: ChildProcess;
  exited: Promise<number | null>;
  output(): string;
}

describe.runIf(browserTestsEnabled())('examples/widget/serve.mjs: the documented command sets up the tenant; the page works in Chromium', () => {
  let svc: ServeProcess;
  let browser: Browser;
  let dir: string;
  const runs: Run[] = [];
  const admin = () => adminClient(svc.url, ADMIN_TOKEN);

  /** Runs the documented command; resolves with the page URL it prints once the tenant is set up. */
  async function runCommand(): Promise<Run & { pageUrl: string }> {
    const [command, ...args] = documented!.split(' ');
    const child = spawn(command === 'node' ? process.execPath : command!, [...args, '--port', '0'], {
      cwd: dir,
      // TMPDIR inside `dir`: the Git repository of a run killed without cleaning up goes with it.
      env: { PATH: process.env.PATH ?? '', HOME: dir, TMPDIR: join(dir, 'tmp'), GATEHOUSE_URL: svc.url },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const run = { child, exited, output: () => output };
    runs.push(run);
    // Wait for the line it prints when ready (or its exit): set-up includes a Git sync in the worker.
    const ready = await new Promise<string | undefined>((resolve) => {
      const look = () => {
        const url = /^example widget: (http:\/\/127\.0\.0\.1:\d+)\/ /m.exec(output)?.[1];
        if (url !== undefined) resolve(url);
      };
      child.stdout!.on('data', look);
      void exited.then(() => resolve(undefined));
      look();
    });
    if (ready === undefined) throw new Error(`the example's command exited before it was ready:\n${output}`);
    return { ...run, pageUrl: ready };
  }

  beforeAll(async () => {
    expect(documented).toBe('node examples/widget/serve.mjs');
    svc = await startServe({
      adminToken: ADMIN_TOKEN,
      masterKey: Buffer.alloc(32, 12).toString('base64'),
      env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.1/32' },
    });
    dir = mkdtempSync(join(tmpdir(), 'gh-widget-serve-'));
    symlinkSync(join(root, 'examples'), join(dir, 'examples'));
    mkdirSync(join(dir, '.gatehouse'));
    mkdirSync(join(dir, 'tmp'));
    writeFileSync(join(dir, '.gatehouse', 'admin.token'), `${ADMIN_TOKEN}\n`, { mode: 0o600 });
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    for (const run of runs) {
      if (run.child.exitCode === null) run.child.kill('SIGKILL');
      await run.exited;
    }
    svc?.child.kill('SIGTERM');
    await svc?.exited;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('sets up tenant "demo" (origin, session secret, connectors, a Git link for the composite) and serves a page whose GET, POST, composite and styled error work', async () => {
    // A first run that dies without cleaning up leaves its Git link behind, pointing at its gone server…
    const first = await runCommand();
    first.child.kill('SIGKILL');
    await first.exited;
    const stale = await admin()('GET', '/tenants/demo/git/widget-demo');
    expect(stale.status).toBe(200);

    // …and the next run replaces it.
    const run = await runCommand();
    const api = admin();
    const tenant = await api('GET', '/tenants/demo');
    expect(tenant.json.allowed_origins).toEqual([run.pageUrl]);
    expect(tenant.json.session).toMatchObject({ alg: 'HS256' });
    const link = await api('GET', '/tenants/demo/git/widget-demo');
    expect(link.json).toMatchObject({ branch: 'main', provider: 'generic', last_sync: { state: 'succeeded' } });
    expect(link.json.url).not.toBe(stale.json.url);
    const list = await api('GET', '/tenants/demo/connectors');
    expect(list.json.items.map((c: { permalink: string; kind: string; source: string }) => `${c.permalink}:${c.kind}:${c.source}`)).toEqual([
      'contacts:connector:manual',
      'dashboard:composite:repository',
      'weather:connector:manual',
      'whoami:connector:manual',
    ]);

    const page: Page = await browser.context.newPage();
    page.setDefaultTimeout(20_000);
    const problems: string[] = [];
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    const toGatehouse: Request[] = [];
    page.on('request', (req) => {
      if (req.url().startsWith(`${svc.url}/t/`)) toGatehouse.push(req);
    });
    await page.goto(`${run.pageUrl}/`);
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.ready === 'true');
    const result = (id: string) => widgetResult(page, id);
    const answer = (id: string) => widgetAnswer(page, id);

    // GET with a path parameter and a query parameter; the connector's secret is added on the server.
    await page.fill('#city', 'Oslo');
    await page.click('#weather-go');
    const weather = await answer('weather-result');
    expect(weather).toMatchObject({ city: 'Oslo', units: 'metric', q: 'Oslo', api_key_received: true });
    const get = toGatehouse.at(-1)!;
    expect(get.method()).toBe('GET');
    expect(get.url()).toBe(`${svc.url}/t/demo/connectors/weather/execute?q=Oslo`);
    expect(await get.headerValue('x-path-params')).toBe('city=Oslo');

    // POST with the form as payload.
    await page.click('#contact-go');
    const contact = await answer('contact-result');
    expect(contact).toMatchObject({ id: expect.stringMatching(/^contact-[0-9a-f]{6}$/), firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
    const post = toGatehouse.at(-1)!;
    expect(post.method()).toBe('POST');
    expect(JSON.parse(post.postData() ?? '')).toEqual({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });

    // The composite from the linked Git repository: both steps ran against the demo upstream.
    await page.click('#dashboard-go');
    const dashboard = await answer('dashboard-result');
    expect(dashboard).toEqual({ body: { forecast: { city: 'Oslo', outlook: 'sunny spells' }, widget: { widget: 'example' } } });
    const composite = toGatehouse.at(-1)!;
    expect(composite.method()).toBe('POST');
    expect(composite.url()).toBe(`${svc.url}/t/demo/composite-connectors/dashboard/execute?city=Oslo`);

    // user.* from the development session token the command asked Gatehouse for.
    await page.click('#whoami-go');
    expect(await answer('whoami-result')).toEqual({ user_id: 'demo-user', email: 'demo@example.com' });

    // The styled error: class, words and colours from widget.css.
    await page.click('#broken-go');
    const broken = await result('broken-result');
    expect(await broken.getAttribute('class')).toBe('result error');
    expect(await broken.textContent()).toMatch(/^ConnectorExecuteError 404 CONNECTOR_NOT_FOUND.*no-such-connector.*request id [0-9a-f-]{36}$/);
    const style = await broken.evaluate((el) => {
      const css = (globalThis as any).getComputedStyle(el);
      return { border: css.borderLeftColor, background: css.backgroundColor, strong: (globalThis as any).getComputedStyle(el.querySelector('strong')).color };
    });
    expect(style).toEqual({ border: 'rgb(198, 40, 40)', background: 'rgb(255, 244, 244)', strong: 'rgb(198, 40, 40)' });
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'example-widget-serve.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();

    // Ctrl-C removes the Git link (and with it the composite); the manual connectors stay.
    run.child.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect((await api('GET', '/tenants/demo/git/widget-demo')).status).toBe(404);
    expect((await api('GET', '/tenants/demo/connectors/dashboard')).status).toBe(404);
    expect((await api('GET', '/tenants/demo/connectors/weather')).status).toBe(200);
  }, 180_000);
});
