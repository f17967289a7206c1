import { join } from 'node:path';
import type { Page, Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error -- the example is plain JavaScript (what a widget developer runs), without declarations.
import { startExampleServer } from '../../examples/widget/serve.mjs';
import { startSdkScenario, type SdkScenario } from '../sdk/scenario.js';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { browserTestsEnabled, launchChromium, SCREENSHOT_DIR, type Browser } from './browser.js';
import { widgetResult } from './example-widget.js';

/**
 * The example widget (examples/widget/) in Debian's Chromium: the page is served from its own
 * loopback origin (127.0.0.2) and calls a real Gatehouse (127.0.0.1) that calls a real upstream,
 * through the client served at /sdk/connectors.js. A third origin (127.0.0.3) is not allowed.
 */

interface ExamplePage {
  exampleSdk: { connectors: any };
}
/** Runs in the page: one call, its answer or its error's fields. */
type Outcome = { ok: true; value: unknown } | { ok: false; name: string; code?: string; reason?: string; status?: number; detail?: string; scope?: string; params?: string[]; requestId?: string; message: string };

describe.runIf(browserTestsEnabled())('example widget in Chromium', () => {
  let s: SdkScenario;
  let browser: Browser;
  let page: Page;
  let allowed: { url: string; close(): Promise<void> };
  let foreign: { url: string; close(): Promise<void> };
  const config = { baseUrl: '', tenant: 'acme', sessionToken: '' };
  const toGatehouse: Request[] = [];
  const problems: string[] = [];

  const outcome = (options: Record<string, unknown>, kind: 'execute' | 'composite' = 'execute') =>
    page.evaluate(
      async ([opts, k]) => {
        const c = (globalThis as unknown as ExamplePage).exampleSdk.connectors;
        try {
          return { ok: true, value: await (k === 'composite' ? c.composite.execute(opts) : c.execute(opts)) } as Outcome;
        } catch (e) {
          const { name, code, reason, status, detail, scope, params, requestId, message } = e as Record<string, any>;
          return { ok: false, name, code, reason, status, detail, scope, params, requestId, message } as Outcome;
        }
      },
      [options, kind] as const,
    );
  const result = (id: string) => widgetResult(page, id);

  beforeAll(async () => {
    browser = await launchChromium();
    allowed = await startExampleServer({ host: '127.0.0.2', port: 0, config });
    foreign = await startExampleServer({ host: '127.0.0.3', port: 0, config });
    s = await startSdkScenario({ allowedOrigins: [allowed.url] });
    config.baseUrl = s.h.url;
    config.sessionToken = await s.h.session({ sub: 'browser-user-9', email: 'nine@example.com' });
    page = await browser.context.newPage();
    page.setDefaultTimeout(15_000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('request', (req) => {
      if (req.url().startsWith(`${s.h.url}/t/`)) toGatehouse.push(req);
    });
    await page.goto(`${allowed.url}/`);
    await page.waitForFunction(() => (globalThis as any).document.body.dataset.ready === 'true');
  });
  afterAll(async () => {
    await browser?.close();
    await s?.close();
    await allowed?.close();
    await foreign?.close();
  });

  it('GET with query and path parameters from the widget: X-Path-Params sent, the upstream sees both', async () => {
    s.up.requests.length = 0;
    await page.fill('#city', 'Warsaw');
    await page.click('#weather-go');
    const text = JSON.parse((await (await result('weather-result')).textContent()) ?? '');
    expect(text.path).toBe('/weather/Warsaw/metric');
    expect(text.query).toMatchObject({ q: 'Warsaw', source: 'gatehouse' });
    const sent = toGatehouse.at(-1)!;
    expect(sent.url()).toBe(`${s.h.url}/t/acme/connectors/weather/execute?q=Warsaw`);
    expect(await sent.headerValue('x-path-params')).toBe('city=Warsaw');
    expect(await sent.headerValue('authorization')).toBe(`Bearer ${config.sessionToken}`);
    expect(s.up.requests.map((r) => r.path)).toEqual(['/weather/Warsaw/metric']);
    expect(problems).toEqual([]);
  });

  it('POST with payload from the form', async () => {
    s.up.requests.length = 0;
    await page.click('#contact-go');
    const text = JSON.parse((await (await result('contact-result')).textContent()) ?? '');
    expect(text.method).toBe('POST');
    expect(JSON.parse(s.up.requests[0]!.body.toString())).toEqual({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
  });

  it('composite: always POST, payload and queryParams reach its steps', async () => {
    s.up.requests.length = 0;
    await page.click('#dashboard-go');
    const text = JSON.parse((await (await result('dashboard-result')).textContent()) ?? '');
    expect(text).toEqual({ forecast_query: { city: 'Warsaw' }, widget: { widget: 'example' } });
    expect(toGatehouse.at(-1)!.method()).toBe('POST');
    expect(s.up.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /forecast', 'POST /summary']);
  });

  it("user.* from the session token reaches the upstream (the widget sends no identity)", async () => {
    s.up.requests.length = 0;
    await page.click('#whoami-go');
    const text = JSON.parse((await (await result('whoami-result')).textContent()) ?? '');
    expect(text.query.user_id).toBe('browser-user-9');
    expect(s.up.requests[0]!.headers['x-user-email']).toBe('nine@example.com');
  });

  it('a boundary error is raised in the page with zero requests', async () => {
    s.up.requests.length = 0;
    const before = toGatehouse.length;
    const empty = await outcome({ permalink: 'weather', method: 'GET', pathParams: { '': 'x' } });
    const long = await outcome({ permalink: 'weather', method: 'GET', pathParams: { city: 'x'.repeat(4097) } });
    const composite = await outcome({ permalink: 'dashboard', pathParams: { a: '1' } }, 'composite');
    expect([empty, long, composite].map((o) => (o.ok ? 'ok' : `${o.name}:${o.reason}`))).toEqual([
      'ConnectorBoundaryError:EMPTY_PATH_PARAM_KEY',
      'ConnectorBoundaryError:PATH_PARAM_TOO_LONG',
      'ConnectorBoundaryError:COMPOSITE_PATH_PARAMS',
    ]);
    expect(toGatehouse.length).toBe(before);
    expect(s.up.requests).toHaveLength(0);
  });

  it('ConnectorExecuteError fields for 400, 404, 422 and 502 (request id readable cross-origin)', async () => {
    const missing = await outcome({ permalink: 'weather', method: 'GET' });
    const unknown = await outcome({ permalink: 'no-such-connector', method: 'GET' });
    const template = await outcome({ permalink: 'broken-response', method: 'GET' });
    const unreachable = await outcome({ permalink: 'unreachable', method: 'GET' });
    expect(missing).toMatchObject({ ok: false, name: 'ConnectorExecuteError', status: 400, code: 'MISSING_PATH_PARAMETERS', params: ['city'] });
    expect(unknown).toMatchObject({ ok: false, name: 'ConnectorExecuteError', status: 404, code: 'CONNECTOR_NOT_FOUND' });
    expect(template).toMatchObject({ ok: false, name: 'ConnectorExecuteError', status: 422, code: 'TEMPLATE_ERROR', scope: 'Configuration (response template rendering)' });
    expect(unreachable).toMatchObject({ ok: false, name: 'ConnectorExecuteError', status: 502, code: 'UPSTREAM_UNREACHABLE', scope: 'Downstream (network/external service)' });
    for (const o of [missing, unknown, template, unreachable]) {
      expect(o.ok ? '' : o.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(o.ok ? '' : o.detail).not.toBe('');
    }
    // The widget's styled fallback.
    await page.click('#broken-go');
    const shown = await result('broken-result');
    expect(await shown.getAttribute('class')).toBe('result error');
    expect(await shown.textContent()).toMatch(/^ConnectorExecuteError 404 CONNECTOR_NOT_FOUND.*no-such-connector.*request id [0-9a-f-]{36}$/);
    await page.screenshot({ path: join(SCREENSHOT_DIR, 'example-widget.png'), fullPage: true });
  });

  it('a slow upstream and configure({ timeout: 500 }) → TIMEOUT', async () => {
    const timedOut = await page.evaluate(async () => {
      const c = (globalThis as unknown as ExamplePage).exampleSdk.connectors;
      c.configure({ timeout: 500 });
      try {
        await c.execute({ permalink: 'slow', method: 'GET' });
        return 'answered';
      } catch (e) {
        return `${(e as Error).name}:${(e as { code: string }).code}`;
      } finally {
        c.configure({ timeout: 30_000 });
      }
    });
    s.releaseSlow();
    expect(timedOut).toBe('ConnectorNetworkError:TIMEOUT');
  });

  it('an origin not in allowed_origins is refused by CORS: the widget shows NETWORK_ERROR', async () => {
    const other = await browser.context.newPage();
    const consoleErrors: string[] = [];
    other.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    await other.goto(`${foreign.url}/`);
    // The client itself loads from any origin (public code); the calls are what CORS guards.
    await other.waitForFunction(() => (globalThis as any).document.body.dataset.ready === 'true');
    await other.click('#weather-go');
    await other.waitForFunction(() => (globalThis as any).document.querySelector('#weather-result').dataset.code === 'NETWORK_ERROR');
    expect(await other.locator('#weather-result').textContent()).toMatch(/ConnectorNetworkError NETWORK_ERROR.*allowed_origins/);
    expect(consoleErrors.join('\n')).toMatch(/blocked by CORS policy/);
    await other.close();
  });

  it("the dashboard's tenant settings warn when a tenant with connectors has no allowed origins", async () => {
    await s.h.createTenant('bare', { allowed_origins: [] });
    await s.h.createConnector('bare', { name: 'Items', permalink: 'items', url: `${s.up.url}/items` });
    await s.h.createTenant('empty', { allowed_origins: [] });
    const ui = await browser.context.newPage();
    await ui.goto(`${s.h.url}/ui/`);
    await ui.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await ui.getByRole('button', { name: 'Sign in' }).click();
    await ui.waitForFunction(() => !(globalThis as any).document.querySelector('#login-token, input[type=password][name=token]'));
    const settles = (hash: string) => ui.evaluate(async (h) => {
      (globalThis as any).location.hash = h;
    }, hash);

    await settles('#/tenants/bare/settings');
    const warning = ui.locator('#origins-warning');
    await warning.waitFor();
    expect(await warning.textContent()).toBe(
      'No allowed origins: this tenant has 1 connector, but no browser page may read their answers (the browser reports a CORS error). Add the origin of every page that embeds your widgets below, or * alone for every origin.',
    );
    await ui.screenshot({ path: join(SCREENSHOT_DIR, 'dashboard-origins-warning.png'), fullPage: true });

    // With origins, or without connectors, there is nothing to warn about; the origins are shown.
    await settles('#/tenants/acme/settings');
    await ui.waitForFunction((origin) => (globalThis as any).document.querySelector('textarea[name=allowed_origins]')?.value === origin, allowed.url);
    expect(await ui.locator('#origins-warning').count()).toBe(0);
    await settles('#/tenants/empty/settings');
    await ui.waitForFunction(() => (globalThis as any).document.querySelector('textarea[name=allowed_origins]')?.value === '');
    expect(await ui.locator('#origins-warning').count()).toBe(0);
    await ui.close();
  });
});
