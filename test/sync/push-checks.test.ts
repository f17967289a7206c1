import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import type { DoubleCheckRun, DoubleRepository } from '../support/github-double.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * A push to a linked branch gets the same check run as a pull request — `Gatehouse: <path>` on
 * the pushed commit, with the plan per tenant (what its sync applied) and an annotation per
 * problem — next to the commit statuses of the syncs.
 */

const REPO = 'acme/push-connectors';
const FILE = 'connectors_registry.json';
const PUBLIC_URL = 'https://gatehouse.example.com';

async function pushRecords(h: Harness, sha: string): Promise<SyncRecord[]> {
  const res = await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?repository=${REPO}&limit=500`);
  return res.body.items.filter((r) => r.trigger === 'push' && r.sha === sha);
}

/** The check run of a pushed commit once every tenant's record carries its outcome. */
async function checkRunOf(h: Harness, repo: DoubleRepository, sha: string, tenants: number): Promise<DoubleCheckRun> {
  await expect.poll(async () => {
    const records = await pushRecords(h, sha);
    return records.length === tenants && records.every((r) => r.check_run !== undefined);
  }, { timeout: 60_000 }).toBe(true);
  return repo.checkRuns.find((r) => r.head_sha === sha)!;
}

describe('check runs on pushes to a linked branch (GitHub App)', () => {
  let h: Harness;
  let repo: DoubleRepository;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    h = await startHarness({
      double: { app: { appId: 4242, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() } },
      env: { GITHUB_TOKEN: '', GITHUB_APP_ID: '4242', GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), PUBLIC_URL },
    });
    repo = h.double.createRepo(REPO, { installationId: 77 });
    repo.commit('main', { [FILE]: registry([connector('Weather API'), connector('Old Feed')]) });
    for (const t of ['acme', 'globex']) {
      await h.createTenant(t);
      expect((await h.link(t, REPO)).status).toBe(201);
      expect(await h.settle(t, REPO)).toMatchObject({ state: 'succeeded' });
    }
  }, 120_000);
  afterAll(async () => h?.close());

  it('a valid push: success with the applied plan per tenant and the file\'s warnings, next to the commit statuses', async () => {
    const { sha, delivery } = await h.push(REPO, { [FILE]: registry([
      connector('Weather API', { method: 'POST', response_content_type: 'application/json', response_body: '{{ items }}' }),
      connector('Currency Rates'),
    ]) });
    expect(delivery).toMatchObject({ status: 202, body: { queued: 2 } });
    const run = await checkRunOf(h, repo, sha, 2);
    expect(run).toMatchObject({ name: `Gatehouse: ${FILE}`, status: 'completed', conclusion: 'success' });
    expect(run.output.title).toBe('2 tenants: 2 created, 2 updated, 2 deleted, 1 warning');
    expect(run.output.summary).toContain('it was applied');
    expect(run.output.summary).toContain('| acme | 1: `currency-rates` | 1: `weather-api` | 1: `old-feed` | 0 | 0 | 0 |');
    expect(run.annotations).toEqual([expect.objectContaining({ annotation_level: 'warning', title: '/connectors/0/response_body', message: expect.stringContaining('{{ items | tojson }}') })]);
    expect(run.details_url).toBe(`${PUBLIC_URL}/ui/#/syncs?repository=${encodeURIComponent(REPO)}`);
    const records = await pushRecords(h, sha);
    for (const r of records) {
      expect(r).toMatchObject({ state: 'succeeded', check_run: { conclusion: 'success', result: 'posted', id: run.id } });
      expect(r.warnings).toEqual([expect.objectContaining({ path: '/connectors/0/response_body' })]);
    }
    // The live connectors are the pushed ones: the check reports, it does not apply.
    expect((await h.svc.services.registry.list('acme')).map((c) => c.definition.permalink).sort()).toEqual(['currency-rates', 'weather-api']);
    await expect.poll(() => repo.statuses.filter((s) => s.sha === sha).length, { timeout: 60_000 }).toBe(2);
    expect(h.double.count({ method: 'POST', path: /\/check-runs$/ })).toBe(1);
  });

  it('a push colliding with one tenant\'s manual connector: failure, the collision annotated for that tenant, the other tenant applied', async () => {
    expect((await h.admin('POST', '/tenants/globex/connectors', connector('Stock Quotes'))).status).toBe(201);
    const text = registry([connector('Weather API'), connector('Stock Quotes')]);
    const { sha } = await h.push(REPO, { [FILE]: text });
    const run = await checkRunOf(h, repo, sha, 2);
    expect(run.conclusion).toBe('failure');
    const collision = run.annotations.find((a) => a.annotation_level === 'failure')!;
    expect(collision.message).toMatch(/^tenant globex: permalink "stock-quotes"/);
    expect(text.split('\n')[collision.start_line - 1]).toContain('"Stock Quotes"');
    const records = await pushRecords(h, sha);
    expect(records.find((r) => r.tenant === 'acme')).toMatchObject({ state: 'succeeded', check_run: { conclusion: 'failure', result: 'posted' } });
    expect(records.find((r) => r.tenant === 'globex')).toMatchObject({ state: 'failed', check_run: { conclusion: 'failure', result: 'posted' } });
    expect(run.output.summary).toContain('| acme | 1: `stock-quotes` |');
  });

  it('an invalid push: failure annotated at the error\'s line, nothing applied', async () => {
    const text = registry([connector('Weather API'), { name: 'Broken', url: 'ftp://example.com/x' }]);
    const { sha } = await h.push(REPO, { [FILE]: text });
    const run = await checkRunOf(h, repo, sha, 2);
    expect(run.conclusion).toBe('failure');
    expect(run.output.title).toContain('nothing was applied');
    const error = run.annotations.find((a) => a.title === '/connectors/1/url')!;
    expect(text.split('\n')[error.start_line - 1]).toContain('ftp://example.com/x');
  });
});
