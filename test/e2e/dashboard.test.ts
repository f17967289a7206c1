import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateRegistryText } from '../../src/registry/validate.js';
import { startGitServer } from '../support/git-server.js';
import { GitHubDouble } from '../support/github-double.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { browserTestsEnabled, launchChromium, SCREENSHOT_DIR, type Browser } from './browser.js';

/**
 * The operator dashboard end to end: the real app (real Redis) driven by Debian's Chromium.
 * One browser page walks through the views in order, as an operator would; each main view is
 * screenshotted into test/.tmp/ for a human look.
 */

/** The few browser globals the page functions below use. */
interface B {
  document: { querySelector(selector: string): { textContent: string | null } | null; querySelectorAll(selector: string): { length: number }; activeElement: unknown };
  sessionStorage: Record<string, string> & { setItem(key: string, value: string): void };
  __xss?: number;
}

const SECRET_VALUE = 's3cr3t-Value-never-shown-7f3a';
const HS256_SECRET = 'b'.repeat(40);
const HOSTILE_NAME = 'CRM <b>Contacts</b> <img src=x onerror="window.__xss=1">';
const HOSTILE_MESSAGE = '<script>window.__xss=2</script> is not a valid URL <img src=x onerror="window.__xss=3">';

describe.runIf(browserTestsEnabled())('operator dashboard (Chromium)', () => {
  let svc: TestService;
  let upstream: TestUpstream;
  let github: GitHubDouble;
  let browser: Browser;
  let page: Page;
  let failedSyncId: string;
  let okSyncId: string;
  let githubErrorSyncId: string;
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `dashboard-${name}.png`), fullPage: true });
  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const heading = async () => text('main h1');
  // Functions run in the page (strings would be eval, which the dashboard's CSP forbids); the
  // project's TypeScript has no DOM library, hence the `B` view of the browser's globals.
  const waitForHeading = (pattern: RegExp) => page.waitForFunction((source) => new RegExp(source).test((globalThis as unknown as B).document.querySelector('main h1')?.textContent ?? ''), pattern.source);
  const rowCount = (n: number) => page.waitForFunction((count) => (globalThis as unknown as B).document.querySelectorAll('main table tbody tr').length === count, n);
  const storedKeys = () => page.evaluate(() => Object.keys((globalThis as unknown as B).sessionStorage));

  beforeAll(async () => {
    // In CI, fails with install instructions when /usr/bin/chromium is missing.
    browser = await launchChromium();
    await flushTestRedis();
    upstream = await startUpstream();
    upstream.route('/items/42', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
      res.end(JSON.stringify({ id: '42', name: 'Widget', authorized: req.headers['x-api-key'] === SECRET_VALUE }));
    });
    // Linking asks GitHub whether the branch exists: the linked repositories live in the double.
    github = await GitHubDouble.start();
    github.createRepo('globex/connectors', { private: false }).commit('main', { 'connectors_registry.json': '{"connectors": []}' });
    github.createRepo('globex/extra', { private: false }).commit('release', { 'config/registry.json': '{"connectors": []}' });
    svc = await startTestService({ env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8', GITHUB_API_URL: github.url } });

    // A tenant with one repository-owned connector, a link whose sync failed, and one that succeeded.
    const { services } = svc;
    await services.tenants.put('globex', { name: 'Globex', session: { jwks_url: 'https://login.globex.test/.well-known/jwks.json' }, allowed_origins: ['https://app.globex.test'], rate_limit_per_minute: 600 });
    const file = validateRegistryText(
      JSON.stringify({ connectors: [{ name: HOSTILE_NAME, permalink: 'crm-contacts', url: `${upstream.url}/contacts`, response_body: '{{ response.body }}' }] }),
      { allowHttp: true, allowCidrs: services.config.upstreamAllowCidrs },
    );
    if (!file.ok) throw new Error(`fixture registry invalid: ${JSON.stringify(file.errors)}`);
    await services.registry.replaceLink('globex', 'globex/connectors', { connectors: file.value.connectors, composites: [], commitSha: 'c0ffee0000000000000000000000000000000001' });

    const now = Date.now();
    const { syncId } = await services.sync.link('globex', 'globex/connectors', { branch: 'main' });
    failedSyncId = syncId;
    await services.sync.history.update('globex', syncId, {
      state: 'failed',
      sha: 'badc0de000000000000000000000000000000002',
      started_at: new Date(now - 900).toISOString(),
      finished_at: new Date(now - 400).toISOString(),
      duration_ms: 500,
      attempts: 1,
      errors: [
        { permalink: 'crm-contacts', path: '/connectors/0/url', line: 4, column: 14, message: 'uses the "ftp" protocol: only https:// URLs are allowed' },
        { path: '/connectors/1/method', line: 11, column: 17, message: '"FETCH" is not a supported HTTP method' },
        { permalink: 'hostile', path: '/connectors/2/url', line: 19, column: 14, message: HOSTILE_MESSAGE },
      ],
      commit_status: { state: 'failure', description: 'globex: 3 errors, nothing changed', result: 'not_permitted' },
    });
    const ok = await services.sync.link('globex', 'globex/extra', { branch: 'release', path: 'config/registry.json' });
    okSyncId = ok.syncId;
    await services.sync.history.update('globex', ok.syncId, {
      state: 'succeeded',
      sha: 'feedface00000000000000000000000000000003',
      started_at: new Date(now - 300).toISOString(),
      finished_at: new Date(now - 100).toISOString(),
      duration_ms: 200,
      attempts: 1,
      plan: { created: ['orders', 'invoices'], updated: ['crm-contacts'], deleted: ['legacy'] },
      warnings: [{ path: '/connectors/0/response_body', line: 7, column: 24, message: 'response_content_type is "application/json" but on a sample response the response template renders `[]`, which is not JSON: write {{ items | tojson }}' }],
      check_run: { conclusion: 'success', result: 'posted', id: 7 },
    });

    page = await browser.context.newPage();
    page.setDefaultTimeout(8000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      // Chromium logs every 4xx answer; the tests provoke 401/403/400/422 on purpose. Anything else
      // (a CSP violation, an invalid pattern, a script error) is a bug.
      if (msg.type() === 'error' && !/^Failed to load resource: the server responded with a status of 4\d\d/.test(msg.text())) problems.push(`console: ${msg.text()}`);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await svc?.close();
    await upstream?.close();
    await github?.close();
  });

  it('rejects a wrong token with a clear message, then signs in with the right one', async () => {
    await page.goto(`${svc.url}/ui/`);
    await waitForHeading(/^Sign in$/);
    await page.getByLabel('Admin token').fill('not-the-admin-token-000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.locator('[role=alert]', { hasText: 'Wrong token' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('FORBIDDEN');
    expect(await storedKeys().then((k) => k.length)).toBe(0);
    await shot('01-login-error');

    await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await waitForHeading(/^Tenants$/);
    expect(await storedKeys()).toEqual(['gatehouse.adminToken']);
    expect(await page.context().cookies()).toEqual([]);
    expect(await text('main table')).toContain('globex');
  });

  it('creates a tenant', async () => {
    await page.getByRole('link', { name: 'New tenant' }).click();
    await waitForHeading(/^New tenant$/);
    await page.getByLabel('Tenant ID').fill('acme');
    await page.getByLabel('Name', { exact: true }).fill('Acme Corp');
    await page.getByLabel('HS256 shared secret').check();
    await page.getByLabel('HS256 secret', { exact: true }).fill(HS256_SECRET);
    await page.getByLabel('Allowed origins').fill('https://app.acme.test\nhttps://admin.acme.test');
    await page.getByLabel('Rate limit (requests per minute)').fill('120');
    await page.getByLabel('Rate limit per signed-in user (requests per minute)').fill('20');
    const propagation = page.getByLabel('Send trace context (traceparent) to upstreams and token endpoints');
    expect(await propagation.isChecked()).toBe(true);
    await propagation.uncheck();
    await shot('02-tenant-form');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await waitForHeading(/^Acme Corp/);
    expect(await text('#flash')).toContain('Tenant acme created.');
    const stored = await svc.services.tenants.view('acme');
    expect(stored).toMatchObject({ name: 'Acme Corp', session: { alg: 'HS256' }, allowed_origins: ['https://app.acme.test', 'https://admin.acme.test'], rate_limit_per_minute: 120, rate_limit_per_user_per_minute: 20, trace_propagation: false });

    // Settings: the stored HS256 secret is never shown; a bad origin is reported on its field.
    await page.getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByRole('button', { name: 'Save settings' }).waitFor();
    expect(await page.getByLabel('HS256 secret', { exact: true }).inputValue()).toBe('');
    expect(await page.getByLabel('Send trace context (traceparent) to upstreams and token endpoints').isChecked()).toBe(false);
    await page.getByLabel('Allowed origins').fill('https://app.acme.test/');
    await page.getByRole('button', { name: 'Save settings' }).click();
    const problem = page.locator('[role=alert]', { hasText: 'INVALID_REQUEST' });
    await problem.waitFor();
    expect(await problem.textContent()).toContain('/body/allowed_origins/0');
    expect(await page.getByLabel('Allowed origins').getAttribute('aria-invalid')).toBe('true');
    expect((await svc.services.tenants.view('acme'))?.allowed_origins).toEqual(['https://app.acme.test', 'https://admin.acme.test']);
    await shot('02-tenant-settings-error');

    await page.getByRole('link', { name: 'Tenants', exact: true }).first().click();
    await waitForHeading(/^Tenants$/);
    expect(await text('main table')).toContain('Acme Corp');
    await shot('03-tenants');
  });

  it('sets a secret and shows only its mask', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/acme/secrets`);
    await waitForHeading(/^Acme Corp/);
    await page.getByLabel('Name').fill('api_key');
    await page.getByLabel('Value', { exact: true }).fill(SECRET_VALUE);
    await page.getByRole('button', { name: 'Save secret' }).click();
    await page.locator('main table', { hasText: 'api_key' }).waitFor();
    expect(await text('main table')).toContain('s*********');
    expect(await text('#flash')).toContain('Secret api_key created');
    expect(await page.getByLabel('Value', { exact: true }).inputValue()).toBe('');
    expect(await page.content()).not.toContain(SECRET_VALUE);
    await shot('04-secrets');
  });

  it('sets a variable and reads it back', async () => {
    await page.getByRole('link', { name: 'Variables', exact: true }).click();
    await page.locator('main h2', { hasText: 'Variables' }).waitFor();
    await page.getByLabel('Name').fill('region');
    await page.getByLabel('Value', { exact: true }).fill('eu-west-1');
    await page.getByRole('button', { name: 'Save variable' }).click();
    await page.locator('main table', { hasText: 'region' }).waitFor();
    expect(await text('main table tbody tr')).toContain('eu-west-1');
    await shot('04-variables');
  });

  it('reports a JSON syntax error with line and column, then saves the fixed connector', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/acme/connectors`);
    await page.getByRole('link', { name: 'New connector' }).click();
    const editor = page.getByLabel(/^Connector JSON/);
    await editor.waitFor();
    const lines = [
      '{',
      '  "name": "Echo Items",',
      `  "url": "${upstream.url}/items/{{ pathParams.item_id }}"`,
      '  "method": "GET",',
      `  "headers": [{ "key": "X-Api-Key", "value": "{{ get_secret('api_key') }}", "overridable": false }],`,
      '  "path_parameters": [{ "key": "item_id" }]',
      '}',
    ];
    await editor.fill(lines.join('\n'));
    await page.getByRole('button', { name: 'Create connector' }).click();
    const problemsBox = page.locator('.problems');
    await problemsBox.waitFor();
    expect(await problemsBox.textContent()).toContain('INVALID_JSON');
    expect(await problemsBox.getByRole('button').first().textContent()).toBe('Line 4, column 3');
    expect(await text('.gutter .ln-error')).toBe('4');
    // The caret was moved to the error.
    expect(await text('.caret-pos')).toMatch(/^Line 4, column 3/);
    expect(await page.evaluate(() => { const d = (globalThis as unknown as B).document; return d.activeElement === d.querySelector('textarea.code'); })).toBe(true);
    await shot('05-editor-syntax-error');

    // A field error: 422 with pointer and position for every problem.
    lines[2] += ',';
    lines[3] = '  "method": "FETCH",';
    await editor.fill(lines.join('\n'));
    await page.getByRole('button', { name: 'Create connector' }).click();
    await page.locator('.problems', { hasText: 'VALIDATION_FAILED' }).waitFor();
    expect(await text('.problems li')).toMatch(/^Line 4, column 13 \/method "FETCH" is not a supported HTTP method/);

    lines[3] = '  "method": "GET",';
    await editor.fill(lines.join('\n'));
    await page.getByRole('button', { name: 'Create connector' }).click();
    await waitForHeading(/^Acme Corp/);
    await page.locator('h2', { hasText: 'Echo Items' }).waitFor();
    expect(await text('#flash')).toContain('Connector echo-items created.');
    expect((await svc.services.registry.get('acme', 'echo-items'))?.source).toBe('manual');
  });

  it('runs Test Connection on the saved connector: status, body, debug record, secret masked', async () => {
    await page.locator('.test-panel .kv', { hasText: 'Path parameters' }).locator('input').nth(1).fill('42');
    await page.getByRole('button', { name: 'Run test' }).click();
    const result = page.locator('.test-result .result');
    await result.waitFor();
    expect(await text('.result-summary')).toContain('Status 200');
    const body = await text('.test-result pre[aria-label="Response body"]');
    expect(JSON.parse(body)).toEqual({ id: '42', name: 'Widget', authorized: true });
    const debug = JSON.parse((await page.locator('.test-result pre[aria-label="Debug request"]').textContent()) ?? '{}') as { url: string; headers: Record<string, string> };
    expect(debug.url).toBe(`${upstream.url}/items/42`);
    expect(debug.headers['X-Api-Key'] ?? debug.headers['x-api-key']).toBe("{{ get_secret('api_key') }}");
    expect(await page.content()).not.toContain(SECRET_VALUE);
    await shot('06-connector-test-connection');

    // The tenant's Test Connection tab, with the connector preselected from the address.
    await page.goto(`${svc.url}/ui/#/tenants/acme/test?permalink=echo-items`);
    await page.locator('.test-panel .kv', { hasText: 'Path parameters' }).locator('input').nth(1).fill('42');
    expect(await page.getByLabel('Connector', { exact: true }).inputValue()).toBe('echo-items');
    await page.getByRole('button', { name: 'Run test' }).click();
    await page.locator('.test-result .result').waitFor();
    expect(await text('.result-summary')).toContain('Status 200');
    await shot('06-test-connection-tab');
  });

  it('shows a repository-owned connector read-only, with hostile text as text', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/globex/connectors`);
    await page.locator('main table', { hasText: 'crm-contacts' }).waitFor();
    expect(await text('main table tbody tr')).toContain('GitHub');
    expect(await text('main table tbody tr')).toContain(HOSTILE_NAME);
    await shot('07-repository-connectors');
    await page.getByRole('link', { name: 'crm-contacts' }).click();
    await page.locator('.alert-info', { hasText: 'Read-only' }).waitFor();
    expect(await page.locator('.code-editor').count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Save' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'Delete connector' }).count()).toBe(0);
    expect(await text('pre[aria-label="Connector definition"]')).toContain('"permalink": "crm-contacts"');
    expect(await page.locator('main img').count()).toBe(0);
    await shot('08-repository-connector');
  });

  it('lists sync history and shows a failed sync with every error', async () => {
    await page.getByRole('link', { name: 'Syncs', exact: true }).click();
    await waitForHeading(/^Sync history$/);
    await page.locator('main table tbody tr').nth(1).waitFor();
    expect(await page.locator('main table tbody tr').count()).toBe(2);
    expect(await text('main table')).toContain('failed');
    expect(await text('main table')).toContain('succeeded');

    // Auto-refresh (every 5 s): a change to a record shows up without reloading.
    await svc.services.sync.history.update('globex', okSyncId, { duration_ms: 4321 });
    await page.locator('main table td', { hasText: '4.32 s' }).waitFor({ timeout: 8000 });

    // Filter by state (the filter is in the address too).
    await page.getByLabel('State').selectOption('failed');
    await rowCount(1);
    expect(page.url()).toContain('state=failed');
    await shot('09-syncs-filtered');
    await page.getByLabel('State').selectOption('');
    await rowCount(2);
    await shot('09-syncs');

    await page.getByRole('link', { name: new RegExp(`Sync ${failedSyncId}`) }).click();
    await waitForHeading(new RegExp(`^Sync ${failedSyncId}$`));
    const rows = page.locator('main table tbody tr');
    await rows.nth(2).waitFor();
    expect(await rows.count()).toBe(3);
    const cells = async (i: number) => (await rows.nth(i).locator('td').allTextContents()).map((s) => s.trim());
    expect(await cells(0)).toEqual(['crm-contacts', '/connectors/0/url', '4', '14', 'uses the "ftp" protocol: only https:// URLs are allowed']);
    expect(await cells(1)).toEqual(['—', '/connectors/1/method', '11', '17', '"FETCH" is not a supported HTTP method']);
    expect(await cells(2)).toEqual(['hostile', '/connectors/2/url', '19', '14', HOSTILE_MESSAGE]);
    expect(await text('main .sync-state')).toContain('3 errors');
    expect(await text('main dl.meta')).toContain('badc0de000000000000000000000000000000002');
    await shot('10-sync-detail');
    expect(await page.evaluate(() => (globalThis as unknown as B).__xss)).toBeUndefined();
  });

  it('shows a sync\'s warnings with their position and its check run; a manual save answers its warnings', async () => {
    await page.goto(`${svc.url}/ui/#/syncs/${okSyncId}`);
    await waitForHeading(new RegExp(`^Sync ${okSyncId}$`));
    const warnings = page.locator('main section[aria-label="Warnings"]');
    await warnings.waitFor();
    expect(await warnings.locator('h2').textContent()).toBe('Warnings (1)');
    expect((await warnings.locator('tbody tr td').allTextContents()).map((t) => t.trim())).toEqual(['/connectors/0/response_body', '7', '24', expect.stringContaining('{{ items | tojson }}')]);
    expect(await text('main dl.meta')).toContain('success (posted)');

    await page.goto(`${svc.url}/ui/#/tenants/acme/connectors/echo-items`);
    const editor = page.getByLabel(/^Connector JSON/);
    await editor.waitFor();
    const sent = JSON.stringify({ name: 'Echo Items', url: `${upstream.url}/items/{{ pathParams.item_id }}`, path_parameters: [{ key: 'item_id' }], response_content_type: 'application/json', response_body: '{{ items }}' }, null, 2);
    await editor.fill(sent);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.locator('#flash', { hasText: 'warning' }).waitFor();
    const line = sent.split('\n').findIndex((l) => l.includes('"response_body"')) + 1;
    expect(await text('#flash')).toMatch(new RegExp(`1 warning: line ${line}:\\d+ .*\\{\\{ items \\| tojson \\}\\}`));
    await shot('10b-connector-saved-with-warning');
  });

  it('shows the repositories of a tenant with their last sync, and the queues', async () => {
    await page.goto(`${svc.url}/ui/#/tenants/globex/repositories`);
    await page.locator('main table', { hasText: 'globex/extra' }).waitFor();
    const text1 = await text('main table');
    expect(text1).toContain('globex/connectors');
    expect(text1).toContain('failed');
    expect(text1).toContain('3 errors');
    expect(text1).toContain('config/registry.json');
    await shot('11-repositories');

    // Unlink asks first; cancelling keeps the link.
    await page.getByRole('button', { name: 'Unlink globex/extra' }).click();
    const dialog = page.getByRole('dialog', { name: 'Unlink globex/extra?' });
    await dialog.waitFor();
    await shot('11-unlink-dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect(await svc.services.sync.links.get('globex', 'globex/extra')).toBeDefined();
    await page.getByRole('button', { name: 'Unlink globex/extra' }).click();
    await page.getByRole('button', { name: 'Unlink and delete its connectors' }).click();
    await page.locator('#flash', { hasText: 'globex/extra unlinked; 0 connectors removed.' }).waitFor();
    await page.waitForFunction(() => !((globalThis as unknown as B).document.querySelector('main table')?.textContent ?? '').includes('globex/extra'));
    expect(await svc.services.sync.links.get('globex', 'globex/extra')).toBeUndefined();

    await page.getByRole('link', { name: 'Queues', exact: true }).click();
    await waitForHeading(/^Queues$/);
    await page.locator('main table', { hasText: 'reconcile' }).waitFor();
    const syncRow = (await page.locator('main table tbody tr', { hasText: 'repository syncs' }).locator('td').allTextContents()).map((s) => s.trim());
    expect(syncRow[1]).toBe('2'); // the two linked syncs wait: no worker in this process
    await shot('12-queues');
  });

  it('lists Git links next to GitHub ones with their last sync, links one from the form and unlinks it', async () => {
    const git = await startGitServer();
    try {
      const { services } = svc;
      await services.tenants.put('initech', { name: 'Initech', session: { jwks_url: 'https://login.initech.test/.well-known/jwks.json' }, allowed_origins: [] });
      const first = git.createRepo('platform/monorepo');
      first.commit({ 'connectors/connectors_registry.json': '{"connectors": []}' });
      const second = git.createRepo('tools/registry');
      second.commit({ 'connectors_registry.json': '{"connectors": []}' });
      await services.git.link('initech', 'platform', { url: first.url, branch: 'main', path: 'connectors/connectors_registry.json', poll_interval_s: 0 });

      await page.goto(`${svc.url}/ui/#/tenants/initech/repositories`);
      await page.locator('main section.git-links table', { hasText: 'platform' }).waitFor();
      const row = await text('main section.git-links table');
      expect(row).toContain(first.url);
      expect(row).toContain('connectors/connectors_registry.json');
      expect(row).toContain('webhooks only');
      expect(row).toContain('queued'); // no worker in this process: the first sync waits

      const form = page.locator('main section.git-links form');
      await form.locator('input[name=name]').fill('tools');
      await form.locator('input[name=url]').fill(second.url);
      await form.getByRole('button', { name: 'Link and sync' }).click();
      await page.locator('#flash', { hasText: 'tools linked' }).waitFor();
      await page.locator('main section.git-links table', { hasText: second.url }).waitFor();
      await shot('11-git-links');

      await page.getByRole('button', { name: 'Unlink tools' }).click();
      await page.getByRole('button', { name: 'Unlink and delete its connectors' }).click();
      await page.locator('#flash', { hasText: 'tools unlinked; 0 connectors removed.' }).waitFor();
      expect(await services.git.links.get('initech', 'tools')).toBeUndefined();
      await services.git.unlink('initech', 'platform');
      await services.tenants.delete('initech');
    } finally {
      await git.close();
    }
  });

  it('deletes a tenant after confirmation; a tenant with linked repositories is refused with the reason', async () => {
    await svc.services.tenants.put('scratch', { name: 'Scratch', allowed_origins: [] });
    await page.goto(`${svc.url}/ui/#/tenants/scratch/settings`);
    await page.getByRole('button', { name: 'Delete tenant' }).click();
    const dialog = page.getByRole('dialog', { name: 'Delete tenant scratch?' });
    await dialog.waitFor();
    await shot('13-delete-tenant-dialog');
    await dialog.getByRole('button', { name: 'Delete tenant' }).click();
    await page.locator('#flash', { hasText: 'Tenant scratch deleted; 0 connectors removed.' }).waitFor();
    await waitForHeading(/^Tenants$/);
    expect(await svc.services.tenants.view('scratch')).toBeUndefined();
    expect(await text('main table')).not.toContain('Scratch');

    await page.goto(`${svc.url}/ui/#/tenants/globex/settings`);
    await page.getByRole('button', { name: 'Delete tenant' }).click();
    await page.getByRole('dialog', { name: 'Delete tenant globex?' }).getByRole('button', { name: 'Delete tenant' }).click();
    const refused = page.locator('[role=alert]', { hasText: 'TENANT_HAS_REPOSITORIES' });
    await refused.waitFor();
    expect(await refused.textContent()).toContain('globex/connectors');
    expect(await svc.services.tenants.view('globex')).toBeDefined();
  });

  it('connector page: the absolute runtime URL with a copy button, ready curl and fetch snippets; times name their zone', async () => {
    await page.setViewportSize({ width: 1366, height: 860 });
    await page.goto(`${svc.url}/ui/#/tenants/acme/connectors/echo-items`);
    const url = `${svc.url}/t/acme/connectors/echo-items/execute`;
    await page.locator('main .runtime-url', { hasText: url }).waitFor();
    expect(await text('main .runtime-url')).toContain(`GET ${url}`);
    await page.getByRole('button', { name: 'Copy runtime URL' }).waitFor();
    const curl = (await page.locator('pre[aria-label="curl snippet"]').textContent()) ?? '';
    expect(curl).toContain(`curl -sS '${url}'`);
    expect(curl).toContain("-H 'Authorization: Bearer <session token>'");
    expect(curl).toContain("-H 'X-Path-Params: item_id=…'");
    const fetchCode = (await page.locator('pre[aria-label="fetch() snippet"]').textContent()) ?? '';
    expect(fetchCode).toContain(`const res = await fetch('${url}', {`);
    expect(fetchCode).toContain("method: 'GET'");
    // Created / Updated: local time followed by the zone's name (the browser runs in the process's zone)
    const created = await text('main dl.meta time');
    expect(created).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (UTC|GMT[+-]\d{1,2}(:\d\d)?|[A-Z]{2,5})$/);
  });

  it('sync detail of a GitHub error: the message, no position table', async () => {
    github.createRepo('globex/moved', { private: false }).commit('main', { 'connectors_registry.json': '{"connectors": []}' });
    const { syncId: id } = await svc.services.sync.link('globex', 'globex/moved', { branch: 'main' });
    const message = 'branch "main" of globex/moved was not found, or the repository is not readable with the configured GitHub credentials';
    await svc.services.sync.history.update('globex', id, { state: 'failed', sha: null, attempts: 1, finished_at: new Date().toISOString(), errors: [{ path: '', line: 0, column: 0, message }] });
    githubErrorSyncId = id;
    await page.goto(`${svc.url}/ui/#/syncs/${id}`);
    await page.locator('main .plain-errors', { hasText: message }).waitFor();
    expect(await page.locator('main table', { hasText: 'Column' }).count()).toBe(0);
  });

  it('every view at 1366 px and at 420 px: screenshots, no horizontal overflow of the page', async () => {
    const views: Array<[string, string, string]> = [
      ['tenants', '#/tenants', 'main table'],
      ['new-tenant', '#/new-tenant', 'main form'],
      ['connectors', '#/tenants/acme/connectors', 'main table'],
      ['new-connector', '#/tenants/acme/new-connector', 'main form'],
      ['connector-manual', '#/tenants/acme/connectors/echo-items', 'main .snippets'],
      ['connector-repository', '#/tenants/globex/connectors/crm-contacts', 'main .snippets'],
      ['test-connection', '#/tenants/acme/test?permalink=echo-items', 'main .test-panel'],
      ['secrets', '#/tenants/acme/secrets', 'main table'],
      ['variables', '#/tenants/acme/variables', 'main table'],
      ['repositories', '#/tenants/globex/repositories', 'main table'],
      ['settings', '#/tenants/acme/settings', 'main form'],
      ['syncs', '#/syncs', 'main table'],
      ['sync-failed', `#/syncs/${failedSyncId}`, 'main table'],
      ['sync-succeeded', `#/syncs/${okSyncId}`, 'main .plan-columns'],
      ['sync-github-error', `#/syncs/${githubErrorSyncId}`, 'main .plain-errors'],
      ['queues', '#/queues', 'main table'],
      ['audit', '#/audit', 'main table'],
      // the usage charts (uPlot canvases sized to their column)
      ['overview', '#/tenants/acme/overview', 'main [data-loaded-range] canvas'],
      ['connector-usage', '#/tenants/acme/connectors/echo-items', 'main [data-loaded-range] canvas'],
      ['queues-history', '#/queues', 'main [data-loaded-range] canvas'],
    ];
    const overflowing: string[] = [];
    const measure = () => page.evaluate(() => {
      const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
      return { scroll: d.scrollWidth, client: d.clientWidth };
    });
    for (const width of [1366, 420]) {
      await page.setViewportSize({ width, height: 860 });
      for (const [name, hash, ready] of views) {
        await page.goto(`${svc.url}/ui/${hash}`);
        await page.locator(ready).first().waitFor();
        if (name === 'test-connection') {
          // with a result, so the debug record is in the picture: it wraps instead of widening the page
          await page.locator('.test-panel .kv', { hasText: 'Path parameters' }).locator('input').nth(1).fill('42');
          await page.getByRole('button', { name: 'Run test' }).click();
          await page.locator('.test-result pre[aria-label="Debug request"]').waitFor();
        }
        const { scroll, client } = await measure();
        if (scroll > client) overflowing.push(`${name} at ${width} px: the page is ${scroll} px wide`);
        await page.screenshot({ path: join(SCREENSHOT_DIR, `view-${width}-${name}.png`), fullPage: true });
      }
    }
    // the sign-in view, in a fresh tab (no token in its sessionStorage)
    const login = await browser.context.newPage();
    try {
      for (const width of [1366, 420]) {
        await login.setViewportSize({ width, height: 860 });
        await login.goto(`${svc.url}/ui/`);
        await login.locator('main form').waitFor();
        const { scroll, client } = await login.evaluate(() => {
          const d = (globalThis as unknown as { document: { documentElement: { scrollWidth: number; clientWidth: number } } }).document.documentElement;
          return { scroll: d.scrollWidth, client: d.clientWidth };
        });
        if (scroll > client) overflowing.push(`login at ${width} px: the page is ${scroll} px wide`);
        await login.screenshot({ path: join(SCREENSHOT_DIR, `view-${width}-login.png`), fullPage: true });
      }
    } finally {
      await login.close();
    }
    await page.setViewportSize({ width: 1366, height: 860 });
    expect(overflowing).toEqual([]);
  }, 120_000);

  it('returns to the login screen when the token stops working, and logs out', async () => {
    await page.evaluate(() => (globalThis as unknown as B).sessionStorage.setItem('gatehouse.adminToken', 'a-token-that-was-rotated-away'));
    await page.goto(`${svc.url}/ui/#/tenants`);
    await waitForHeading(/^Sign in$/);
    expect(await text('main [role=alert]')).toContain('The admin token was rejected (FORBIDDEN');
    expect(await storedKeys().then((k) => k.length)).toBe(0);

    await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Back where the rejected request was made.
    await waitForHeading(/^Tenants$/);

    await page.getByRole('button', { name: 'Log out' }).click();
    await waitForHeading(/^Sign in$/);
    expect(await text('#flash')).toContain('Signed out');
    expect(await storedKeys().then((k) => k.length)).toBe(0);
    expect(await page.locator('#main-nav').isHidden()).toBe(true);
    await page.goto(`${svc.url}/ui/#/syncs`);
    await waitForHeading(/^Sign in$/);
    expect(await heading()).toBe('Sign in');
    expect(problems).toEqual([]);
  });
});
