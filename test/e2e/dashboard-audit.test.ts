import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFingerprint } from '../../src/http/admin/auth.js';
import { adminClient } from '../admin/support.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { browserTestsEnabled, launchChromium, SCREENSHOT_DIR, signedInPage, type Browser } from './browser.js';

/**
 * The dashboard's audit page in Debian's Chromium against the real app: entries of admin writes
 * made through the API, filtered by tenant, action, actor and time (the filters kept in the
 * address), paged with "Older entries"; secret values never reach the page.
 */

interface B {
  document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number } };
}

const SECRET_VALUE = 'audit-canary-Value-9d2e';
const ACTOR_NAME = 'terraform run 42';

describe.runIf(browserTestsEnabled())('dashboard: audit log (Chromium)', () => {
  let svc: TestService;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const fingerprint = tokenFingerprint(TEST_ADMIN_TOKEN);

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `dashboard-${name}.png`), fullPage: true });
  const waitForHeading = (pattern: RegExp) => page.waitForFunction((source) => new RegExp(source).test((globalThis as unknown as B).document.querySelector('main h1')?.textContent ?? ''), pattern.source);
  const rowCount = (n: number) => page.waitForFunction((count) => (globalThis as unknown as B).document.querySelectorAll('main table tbody tr').length === count, n);
  const column = async (label: string) => {
    const headers = (await page.locator('main table thead th').allTextContents()).map((s) => s.trim());
    const i = headers.indexOf(label);
    return (await page.locator(`main table tbody tr td:nth-child(${i + 1})`).allTextContents()).map((s) => s.replace(/\s+/g, ' ').trim());
  };

  beforeAll(async () => {
    browser = await launchChromium();
    await flushTestRedis();
    svc = await startTestService();
    const call = adminClient(svc.url);
    const as = { headers: { 'x-gatehouse-actor': ACTOR_NAME } };
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' }, as)).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', { value: SECRET_VALUE }, as)).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/bad-name', { value: SECRET_VALUE })).status).toBe(400);
    expect((await call('PUT', '/tenants/beta', { name: 'Beta' })).status).toBe(201);
    // More than one page of the smallest page size (50).
    for (let i = 0; i < 55; i++) expect((await call('PUT', `/tenants/beta/variables/v${i}`, { value: `x${i}` })).status).toBe(201);

    page = await signedInPage(browser, svc.url, TEST_ADMIN_TOKEN, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.close();
  });

  it('lists admin writes newest first with actor, action, object and status; never a value', async () => {
    await page.getByRole('link', { name: 'Audit', exact: true }).click();
    await waitForHeading(/^Audit log$/);
    await rowCount(59);
    const actions = await column('Action');
    expect(actions[0]).toBe('variable.put');
    expect(actions.slice(-4)).toEqual(['tenant.put', 'secret.put', 'secret.put', 'tenant.put']);
    expect((await column('Object'))[0]).toBe('name v54');
    const html = await page.content();
    expect(html).not.toContain(SECRET_VALUE);
    await shot('30-audit');
  });

  it('filters by tenant, action, actor and time; the filters are kept in the address', async () => {
    await page.getByLabel('Tenant').selectOption('acme');
    await rowCount(3);
    expect(page.url()).toContain('tenant=acme');
    expect(await column('Status')).toEqual(['400', '201', '201']);
    expect((await column('Actor'))[1]).toBe(`${fingerprint} ${ACTOR_NAME}`);

    await page.getByLabel('Action').fill('secret.');
    await page.getByRole('button', { name: 'Apply' }).click();
    await rowCount(2);
    expect(await column('Object')).toEqual(['name bad-name', 'name api_token']);
    expect(page.url()).toContain('action=secret.');

    await page.getByLabel('Actor').fill(ACTOR_NAME);
    await page.getByRole('button', { name: 'Apply' }).click();
    await rowCount(1);
    expect(await column('Object')).toEqual(['name api_token']);
    expect(await page.locator('main').textContent()).not.toMatch(/null|undefined/);
    await shot('31-audit-filtered');

    // A bookmarked filtered view opens filtered.
    await page.goto(`${svc.url}/ui/#/audit?tenant=acme&actor=${encodeURIComponent(ACTOR_NAME)}`);
    await rowCount(2);
    expect(await column('Action')).toEqual(['secret.put', 'tenant.put']);

    // Since: an instant after every entry leaves none.
    await page.getByLabel('Since').fill('2099-01-01T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await page.locator('main p.empty', { hasText: 'No audit entries match these filters.' }).waitFor();
    expect(decodeURIComponent(page.url())).toMatch(/since=2099-01-01T\d\d:00:00.000Z/);
    await page.getByLabel('Since').fill('2000-01-01T00:00');
    await page.getByRole('button', { name: 'Apply' }).click();
    await rowCount(2);
  });

  it('pages with "Older entries" down to the oldest entry, then offers no more', async () => {
    await page.goto(`${svc.url}/ui/#/audit?tenant=beta&limit=50`);
    await waitForHeading(/^Audit log$/);
    await rowCount(50);
    await page.getByRole('button', { name: 'Older entries' }).click();
    await rowCount(56);
    const names = await column('Object');
    expect(names.slice(48)).toEqual(['name v6', 'name v5', 'name v4', 'name v3', 'name v2', 'name v1', 'name v0', '—']);
    expect(await page.getByRole('button', { name: 'Older entries' }).count()).toBe(0);
    expect(problems).toEqual([]);
  });
});
