import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { browserTestsEnabled, launchChromium, type Browser } from './browser.js';

/**
 * The dashboard's Test Connection as a new user meets it (Chromium): a path parameter with a
 * default works on the first click, empty rows are not sent, the raw upstream body is shown beside
 * the transformed one, and composites can be run.
 */

describe.runIf(browserTestsEnabled())('dashboard Test Connection (Chromium)', () => {
  let svc: TestService;
  let upstream: TestUpstream;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();

  beforeAll(async () => {
    browser = await launchChromium();
    await flushTestRedis();
    upstream = await startUpstream();
    upstream.route('/items/7', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"id": "7", "name": "Seven"}');
    });
    svc = await startTestService({ env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
    const call = (method: string, path: string, body: unknown) =>
      fetch(`${svc.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' })).status).toBe(201);
    const item = {
      name: 'Item',
      url: `${upstream.url}/items/{{ pathParams.id }}`,
      path_parameters: [{ key: 'id', value: '7' }],
      response_body: '{{ (response.body | from_json).name }}',
    };
    expect((await call('POST', '/tenants/acme/connectors', item)).status).toBe(201);
    // JSON by type, a Python repr by template: its test result lists the warning.
    expect((await call('POST', '/tenants/acme/connectors', { ...item, name: 'Item Repr', response_content_type: 'application/json', response_body: '{{ response.body | from_json }}' })).status).toBe(201);
    await svc.services.registry.replaceLink('acme', 'acme/widgets', {
      connectors: [],
      composites: [{
        name: 'Item Pair',
        permalink: 'item-pair',
        steps: [
          { name: 'first', url: `${upstream.url}/items/7`, method: 'GET', headers: [], query_parameters: [], authentication: { type: 'none' }, request_body: '', response_body: '', response_content_type: '' },
          { name: 'second', url: `${upstream.url}/items/7`, method: 'GET', headers: [], query_parameters: [], authentication: { type: 'none' }, request_body: '', response_body: 'second of {{ (steps.first.body | from_json).name }}', response_content_type: '' },
        ],
      }],
      commitSha: 'a'.repeat(40),
    });
    page = await browser.context.newPage();
    page.setDefaultTimeout(8000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    await page.goto(`${svc.url}/ui/`);
    await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('main h1', { hasText: 'Tenants' }).waitFor();
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await upstream?.close();
  });

  it('pre-fills a path parameter with its default: the first click runs (no 400 INVALID_PATH_PARAMETERS)', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/acme/test?permalink=item`);
    const row = page.locator('.test-panel .kv', { hasText: 'Path parameters' }).locator('input');
    await expect.poll(() => row.nth(1).inputValue()).toBe('7');
    expect(await row.nth(0).inputValue()).toBe('id');
    await page.getByRole('button', { name: 'Run test' }).click();
    await page.locator('.test-result .result').waitFor();
    expect(await text('.result-summary')).toContain('Status 200');
    expect(await text('.test-result pre[aria-label="Response body"]')).toBe('Seven');
    // The raw upstream answer is shown beside the transformed body.
    expect(JSON.parse(await text('.test-result pre[aria-label="Raw upstream body"]'))).toEqual({ id: '7', name: 'Seven' });
  });

  it('does not send an emptied row: the server applies the default instead of refusing ""', async () => {
    const row = page.locator('.test-panel .kv', { hasText: 'Path parameters' }).locator('input');
    await row.nth(1).fill('');
    await page.locator('.test-panel .kv', { hasText: 'Query parameters' }).getByRole('button', { name: 'Add parameter' }).click();
    await page.getByRole('button', { name: 'Run test' }).click();
    await page.locator('.test-result .result').waitFor();
    expect(await text('.result-summary')).toContain('Status 200');
    const debug = JSON.parse((await page.locator('.test-result pre[aria-label="Debug request"]').textContent()) ?? '{}') as { url: string };
    expect(debug.url).toBe(`${upstream.url}/items/7`);
  });

  it('lists the warnings of the tested connector beside its result', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/acme/test?permalink=item-repr`);
    await expect.poll(() => page.getByLabel('Connector', { exact: true }).inputValue()).toBe('item-repr');
    await page.getByRole('button', { name: 'Run test' }).click();
    const warnings = page.locator('.test-result section[aria-label="Warnings"]');
    await warnings.waitFor();
    expect(await warnings.locator('h3').textContent()).toBe('Warnings (1)');
    const cells = (await warnings.locator('tbody tr td').allTextContents()).map((t) => t.trim());
    expect(cells[0]).toBe('/response_body');
    expect(cells[3]).toContain('{{ response.body | from_json | tojson }}');
    expect(await text('.result-summary')).toContain('Status 200');
  });

  it('runs a saved composite connector', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/acme/test?permalink=item-pair`);
    expect(await page.getByLabel('Connector', { exact: true }).inputValue()).toBe('item-pair');
    await page.getByRole('button', { name: 'Run test' }).click();
    await page.locator('.test-result .result').waitFor();
    expect(await text('.result-summary')).toContain('Status 200');
    expect(await text('.test-result pre[aria-label="Response body"]')).toBe('second of Seven');
    expect(problems).toEqual([]);
  });
});
