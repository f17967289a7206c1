import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGitServer } from '../support/git-server.js';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { connector, registry, startHarness, type Harness } from '../sync/harness.js';
import { browserTestsEnabled, launchChromium, SCREENSHOT_DIR, signedInPage, type Browser } from './browser.js';

/**
 * Rollback and pinning in the dashboard, driven by Debian's Chromium against the real app with
 * sync workers and the GitHub double: "Roll back to this commit" on a succeeded sync, the pin on
 * the repository and on every skipped sync, Unpin; the same for a Git link. A refused rollback
 * shows the server's reason.
 */

interface B {
  document: { querySelector(selector: string): { textContent: string | null } | null };
}

const FILE = 'connectors_registry.json';
const REPO = 'acme/widgets';

describe.runIf(browserTestsEnabled())('dashboard: rollback and pin (Chromium)', () => {
  let h: Harness;
  let browser: Browser;
  let page: Page;
  let first: { id: string; sha: string };
  const problems: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOT_DIR, `dashboard-${name}.png`), fullPage: true });
  const text = async (selector: string) => ((await page.locator(selector).first().textContent()) ?? '').replace(/\s+/g, ' ').trim();
  const waitForHeading = (pattern: RegExp) => page.waitForFunction((source) => new RegExp(source).test((globalThis as unknown as B).document.querySelector('main h1')?.textContent ?? ''), pattern.source);
  const waitForText = (selector: string, wanted: string) =>
    // Views refresh every 2–5 s: room for a few refreshes on a busy machine.
    page.waitForFunction(([sel, w]) => ((globalThis as unknown as B).document.querySelector(sel!)?.textContent ?? '').replace(/\s+/g, ' ').includes(w!), [selector, wanted] as const, { timeout: 20_000 });

  beforeAll(async () => {
    browser = await launchChromium();
    h = await startHarness();
    await h.createTenant('acme');
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('One')]) });
    await h.link('acme', REPO);
    const s = await h.settle('acme', REPO);
    first = { id: s.id, sha: s.sha! };
    await h.push(REPO, { [FILE]: registry([connector('One'), connector('Two')]) });
    expect((await h.settle('acme', REPO)).state).toBe('succeeded');

    page = await signedInPage(browser, h.svc.url, TEST_ADMIN_TOKEN, problems);
  });

  afterAll(async () => {
    await browser?.close();
    await h?.close();
  });

  it('a refused rollback (a sync of the link is running) shows the reason and changes nothing', async () => {
    await page.goto(`${h.svc.url}/ui/#/syncs/${first.id}`);
    await waitForHeading(new RegExp(`^Sync ${first.id}$`));
    const held = h.double.hold({ path: new RegExp(`/repos/${REPO}/contents/`) });
    await h.push(REPO, { [FILE]: registry([connector('One'), connector('Two'), connector('Three')]) });
    await held.arrived();
    await page.getByRole('button', { name: 'Roll back to this commit' }).click();
    await page.getByRole('dialog', { name: `Roll back ${REPO} to ${first.sha.slice(0, 7)}?` }).getByRole('button', { name: 'Roll back and pin' }).click();
    const alert = page.locator('main .rollback [role=alert]');
    await alert.waitFor();
    expect(await alert.textContent()).toContain('SYNC_IN_PROGRESS');
    await shot('20-rollback-refused');
    held.release();
    expect((await h.settle('acme', REPO)).state).toBe('succeeded');
    expect((await h.svc.services.sync.links.get('acme', REPO))?.pin).toBeNull();
  });

  it('"Roll back to this commit" queues the rollback, opens its record and pins the link', async () => {
    await page.getByRole('button', { name: 'Roll back to this commit' }).click();
    await page.getByRole('dialog', { name: `Roll back ${REPO} to ${first.sha.slice(0, 7)}?` }).getByRole('button', { name: 'Roll back and pin' }).click();
    await page.locator('#flash', { hasText: `Rollback of ${REPO} to ${first.sha.slice(0, 7)} queued` }).waitFor();
    await page.waitForFunction((id) => !((globalThis as unknown as B).document.querySelector('main h1')?.textContent ?? '').includes(id), first.id);
    // The record refreshes while queued or running.
    await waitForText('main .sync-state', 'succeeded');
    const meta = await text('main dl.meta');
    expect(meta).toContain('rollback');
    expect(meta).toContain(first.sha);
    expect(meta).toContain(`Restores${first.id}`);
    expect(meta).toMatch(/Requested bytok:[0-9a-f]{12}/);
    await shot('21-rollback-sync');
    expect((await h.svc.services.sync.links.get('acme', REPO))?.pin?.commit).toBe(first.sha);

    await page.goto(`${h.svc.url}/ui/#/tenants/acme/repositories`);
    await page.locator('main table', { hasText: REPO }).waitFor();
    expect(await text('main table')).toContain(`pinned to ${first.sha.slice(0, 7)}`);
    await page.getByRole('button', { name: `Unpin ${REPO}` }).waitFor();
  });

  it('shows the pin on every skipped sync: the history, the record and the repository\'s last sync', async () => {
    const { sha } = await h.push(REPO, { [FILE]: registry([connector('Four')]) });
    const skipped = await h.settle('acme', REPO);
    expect(skipped).toMatchObject({ state: 'skipped', sha });
    // The repositories page refreshes every 5 s.
    await waitForText('main table', `skipped pinned to ${first.sha.slice(0, 7)}`);
    await shot('22-repositories-pinned');

    await page.goto(`${h.svc.url}/ui/#/syncs?tenant=acme`);
    await waitForHeading(/^Sync history$/);
    const row = page.locator('main table tbody tr', { hasText: sha.slice(0, 7) });
    await row.waitFor();
    expect((await row.textContent())?.replace(/\s+/g, ' ')).toContain(`skipped pinned to ${first.sha.slice(0, 7)}`);
    await shot('23-syncs-skipped');

    await page.goto(`${h.svc.url}/ui/#/syncs/${skipped.id}`);
    await waitForText('main .sync-state', 'The link is pinned');
    expect(await text('main dl.meta')).toContain(`Pinned topinned to ${first.sha.slice(0, 7)}`);
    // Only succeeded syncs offer a rollback.
    expect(await page.getByRole('button', { name: 'Roll back to this commit' }).count()).toBe(0);
  });

  it('Unpin applies the branch head and removes the pin', async () => {
    await page.goto(`${h.svc.url}/ui/#/tenants/acme/repositories`);
    await page.getByRole('button', { name: `Unpin ${REPO}` }).click();
    await page.getByRole('dialog', { name: `Unpin ${REPO}?` }).getByRole('button', { name: 'Unpin and apply the branch head' }).click();
    await page.locator('#flash', { hasText: `Unpin of ${REPO} queued` }).waitFor();
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'unpin', sha: h.double.repo(REPO).head('main') });
    await page.waitForFunction(() => !((globalThis as unknown as B).document.querySelector('main table')?.textContent ?? '').includes('pinned to'), undefined, { timeout: 20_000 });
    expect(await page.getByRole('button', { name: `Unpin ${REPO}` }).count()).toBe(0);
    expect(problems).toEqual([]);
  });

  it('a Git link (real Git smart-HTTP server) rolls back from its sync record and unpins from the Git links list', async () => {
    const git = await startGitServer();
    try {
      const repo = git.createRepo('group/widgets');
      const older = repo.commit({ [FILE]: registry([connector('Git One')]) });
      const linked = await h.admin<{ sync_id: string }>('PUT', '/tenants/acme/git/widgets', { url: repo.url, branch: 'main' });
      const olderSync = await h.waitForSync(linked.body.sync_id);
      expect(olderSync).toMatchObject({ state: 'succeeded', sha: older });
      repo.commit({ [FILE]: registry([connector('Git One'), connector('Git Two')]) });
      const resync = await h.admin<{ sync_id: string }>('POST', '/tenants/acme/git/widgets/sync');
      expect((await h.waitForSync(resync.body.sync_id)).state).toBe('succeeded');

      await page.goto(`${h.svc.url}/ui/#/syncs/${olderSync.id}`);
      await waitForHeading(new RegExp(`^Sync ${olderSync.id}$`));
      await page.getByRole('button', { name: 'Roll back to this commit' }).click();
      await page.getByRole('dialog', { name: `Roll back ${repo.url} to ${older.slice(0, 7)}?` }).getByRole('button', { name: 'Roll back and pin' }).click();
      await page.locator('#flash', { hasText: `Rollback of ${repo.url} to ${older.slice(0, 7)} queued` }).waitFor();
      await waitForText('main .sync-state', 'succeeded');
      expect(await text('main dl.meta')).toContain('rollback');
      expect((await h.svc.services.git.links.get('acme', 'widgets'))?.pin?.commit).toBe(older);

      await page.goto(`${h.svc.url}/ui/#/tenants/acme/repositories`);
      const row = page.locator('main section.git-links table tbody tr', { hasText: 'widgets' });
      await row.waitFor();
      expect((await row.textContent())?.replace(/\s+/g, ' ')).toContain(`pinned to ${older.slice(0, 7)}`);
      await shot('24-git-link-pinned');
      await page.getByRole('button', { name: 'Unpin widgets' }).click();
      await page.getByRole('dialog', { name: 'Unpin widgets?' }).getByRole('button', { name: 'Unpin and apply the branch head' }).click();
      await page.locator('#flash', { hasText: 'Unpin of widgets queued' }).waitFor();
      expect(await h.settle('acme', 'git:widgets')).toMatchObject({ state: 'succeeded', trigger: 'unpin', sha: repo.head() });
      await page.waitForFunction(() => !((globalThis as unknown as B).document.querySelector('main section.git-links table')?.textContent ?? '').includes('pinned to'), undefined, { timeout: 20_000 });
      expect(problems).toEqual([]);
    } finally {
      await git.close();
    }
  });
});
