import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import type { DoubleCheckRun, DoubleRepository } from '../support/github-double.js';
import { deliver, pullRequestPayload, type PullRequestOptions } from '../support/github-double-webhooks.js';
import { connector, registry, startHarness, WEBHOOK_SECRET, type Harness } from './harness.js';

/**
 * Pull request checks: a pull request into a linked branch gets a check run on its head commit
 * with the plan per linked tenant and an annotation per problem; nothing is applied. With a
 * token that cannot create check runs, a commit status with the plan's counts stands in.
 */

const REPO = 'acme/pr-connectors';
const FILE = 'connectors_registry.json';
const PUBLIC_URL = 'https://gatehouse.example.com';
const APP_ID = 4242;
const INSTALLATION = 77;

let prNumber = 0;

async function openPullRequest(h: Harness, repo: DoubleRepository, files: Record<string, string | Buffer | null>, opts: Partial<PullRequestOptions> = {}) {
  const number = ++prNumber;
  const headRef = `feature-${number}`;
  const headSha = repo.commit(headRef, files, { parent: repo.head('main')! });
  const payload = pullRequestPayload(h.double, repo, { action: 'opened', number, base: 'main', headRef, headSha, ...opts });
  const delivery = await deliver(`${h.svc.url}/webhooks/github`, { event: 'pull_request', payload, secret: WEBHOOK_SECRET });
  return { number, headSha, delivery };
}

/** The check run of `sha` once Gatehouse has finished it (every annotation batch sent). */
async function checkRunOf(h: Harness, repo: DoubleRepository, sha: string): Promise<DoubleCheckRun> {
  await expect.poll(async () => {
    const records = await checkRecords(h, sha);
    return records.length > 0 && records.every((r) => r.check_run !== undefined && r.check_run.result !== 'pending');
  }, { timeout: 60_000 }).toBe(true);
  return repo.checkRuns.find((r) => r.head_sha === sha)!;
}

async function checkRecords(h: Harness, sha: string): Promise<SyncRecord[]> {
  const res = await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?repository=${REPO}&limit=500`);
  return res.body.items.filter((r) => r.trigger === 'pull_request' && r.sha === sha);
}

describe('pull request checks (GitHub App)', () => {
  let h: Harness;
  let repo: DoubleRepository;

  beforeAll(async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    h = await startHarness({
      double: { app: { appId: APP_ID, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() } },
      env: { GITHUB_TOKEN: '', GITHUB_APP_ID: String(APP_ID), GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), PUBLIC_URL: `${PUBLIC_URL}/` },
      // The double serves the 10 MB file from this process: a production-like job lock, so the
      // moments it spends encoding it do not make the check job look stalled.
      workers: { lockDurationMs: 30_000 },
    });
    repo = h.double.createRepo(REPO, { installationId: INSTALLATION });
    repo.commit('main', { [FILE]: registry([connector('Weather API'), connector('Old Feed')]) });
    for (const t of ['acme', 'globex']) {
      await h.createTenant(t);
      expect((await h.link(t, REPO)).status).toBe(201);
      expect(await h.settle(t, REPO)).toMatchObject({ state: 'succeeded' });
    }
    // globex has a manual connector the pull requests below also define.
    const manual = await h.admin('POST', '/tenants/globex/connectors', connector('Stock Quotes'));
    expect(manual.status).toBe(201);
  }, 120_000);
  afterAll(async () => h?.close());

  it('a valid file: success with the plan per tenant, one read and one validation, nothing applied', async () => {
    const contents = h.double.count({ path: /\/contents\// });
    const { headSha, delivery } = await openPullRequest(h, repo, { [FILE]: registry([connector('Weather API', { method: 'POST' }), connector('Currency Rates')]) });
    expect(delivery).toMatchObject({ status: 202, body: { queued: 2 } });
    const run = await checkRunOf(h, repo, headSha);
    expect(run).toMatchObject({ name: `Gatehouse: ${FILE}`, status: 'completed', conclusion: 'success', annotations: [] });
    expect(run.output.title).toBe('2 tenants: 2 created, 2 updated, 2 deleted');
    expect(run.output.summary).toContain('| acme | 1: `currency-rates` | 1: `weather-api` | 1: `old-feed` | 0 | 0 | 0 |');
    expect(run.output.summary).toContain('| globex | 1: `currency-rates` | 1: `weather-api` | 1: `old-feed` | 0 | 0 | 0 |');
    expect(h.double.count({ path: /\/contents\// }) - contents).toBe(1);
    const records = await checkRecords(h, headSha);
    expect(records.map((r) => r.tenant).sort()).toEqual(['acme', 'globex']);
    for (const r of records) {
      expect(r).toMatchObject({ state: 'succeeded', branch: 'main', pull_request: { head_sha: headSha }, plan: { created: ['currency-rates'], updated: ['weather-api'], deleted: ['old-feed'] } });
    }
    // Several tenants: the check links to the repository's records on the dashboard.
    expect(run.details_url).toBe(`${PUBLIC_URL}/ui/#/syncs?repository=${encodeURIComponent(REPO)}`);
    // Nothing applied, and the link's own history is untouched.
    expect((await h.svc.services.registry.list('acme')).map((c) => c.definition.permalink).sort()).toEqual(['old-feed', 'weather-api']);
    expect((await h.svc.services.sync.lastSync('acme', REPO))!.trigger).toBe('link');
    await expect.poll(async () => (await checkRecords(h, headSha)).every((r) => r.check_run?.result === 'posted')).toBe(true);
  });

  it('errors and collisions together: failure, annotated at line and column, collisions per tenant', async () => {
    const text = registry([connector('Weather API'), connector('Stock Quotes'), { name: 'Broken', url: 'ftp://example.com/x' }]);
    const { headSha } = await openPullRequest(h, repo, { [FILE]: text });
    const run = await checkRunOf(h, repo, headSha);
    expect(run.conclusion).toBe('failure');
    const failures = run.annotations.filter((a) => a.annotation_level === 'failure');
    const urlError = failures.find((a) => a.title === '/connectors/2/url');
    const lines = text.split('\n');
    expect(urlError).toBeDefined();
    expect(lines[urlError!.start_line - 1]).toContain('ftp://example.com/x');
    const collision = failures.find((a) => a.message.startsWith('tenant globex: permalink "stock-quotes"'));
    expect(collision).toBeDefined();
    expect(lines[collision!.start_line - 1]).toContain('"Stock Quotes"');
    expect(failures.some((a) => a.message.startsWith('tenant acme:'))).toBe(false);
    const records = await checkRecords(h, headSha);
    const globex = records.find((r) => r.tenant === 'globex')!;
    expect(globex.state).toBe('failed');
    expect(globex.errors.map((e) => e.path)).toEqual(expect.arrayContaining(['/connectors/2/url', '/connectors/1/name']));
  });

  it('more than 50 problems: every one annotated, in batches of at most 50', async () => {
    const bad = Array.from({ length: 60 }, (_, i) => ({ name: `Bad ${i}`, url: 'ftp://example.com/x' }));
    const { headSha } = await openPullRequest(h, repo, { [FILE]: registry(bad) });
    const run = await checkRunOf(h, repo, headSha);
    expect(run.conclusion).toBe('failure');
    expect(run.annotations.length).toBeGreaterThanOrEqual(60);
    expect(run.annotationBatches.every((n) => n <= 50)).toBe(true);
    expect(run.annotationBatches.reduce((a, b) => a + b, 0)).toBe(run.annotations.length);
    expect(run.annotationBatches.length).toBeGreaterThan(1);
  });

  it('bad input: not UTF-8, not JSON, 10 MB — a failing check at the first problem, never a crash', async () => {
    const latin1 = Buffer.concat([Buffer.from('{"connectors": [{"name": "Caf'), Buffer.from([0xe9]), Buffer.from('", "url": "https://api.example.com/x"}]}\n')]);
    const a = await openPullRequest(h, repo, { [FILE]: latin1 });
    const runA = await checkRunOf(h, repo, a.headSha);
    expect(runA.conclusion).toBe('failure');
    expect(runA.annotations[0]).toMatchObject({ start_line: 1, start_column: 30, annotation_level: 'failure' });

    const b = await openPullRequest(h, repo, { [FILE]: '{\n  "connectors": [\n    {"name": "x",}\n  ]\n}\n' });
    const runB = await checkRunOf(h, repo, b.headSha);
    expect(runB.conclusion).toBe('failure');
    expect(runB.annotations[0]).toMatchObject({ start_line: 3, annotation_level: 'failure' });

    const big = `{"connectors": [], "padding": "${'x'.repeat(10 * 1024 * 1024)}"}\n`;
    const c = await openPullRequest(h, repo, { [FILE]: big });
    const runC = await checkRunOf(h, repo, c.headSha);
    expect(runC.conclusion).toBe('failure');
    expect(runC.annotations).toHaveLength(1);
    expect(runC.annotations[0]).toMatchObject({ start_line: 1, annotation_level: 'failure' });
    expect(runC.annotations[0]!.message).toContain('over the 5.0 MiB');
    // The service is still answering and syncing.
    expect((await h.admin('GET', '/tenants/acme/repositories')).status).toBe(200);
  }, 180_000);

  it('a secret the tenant does not have is a warning with its position, never blocking', async () => {
    expect((await h.admin('PUT', '/tenants/acme/secrets/upstream_key', { value: 's3cret-value' })).status).toBe(201);
    const text = registry([connector('Weather API', { headers: [{ key: 'X-Key', value: "{{ get_secret('upstream_kye') }}" }, { key: 'X-Other', value: "{{ get_secret('upstream_key') }}" }] }), connector('Old Feed')]);
    const { headSha } = await openPullRequest(h, repo, { [FILE]: text });
    const run = await checkRunOf(h, repo, headSha);
    expect(run.conclusion).toBe('success');
    const warnings = run.annotations.filter((a) => a.annotation_level === 'warning');
    expect(warnings.map((w) => w.message.split(':')[0])).toEqual(['tenant acme', 'tenant globex', 'tenant globex']);
    const typo = warnings.find((w) => w.message.startsWith('tenant acme'))!;
    expect(typo.message).toContain('has no secret "upstream_kye"');
    const line = text.split('\n')[typo.start_line - 1]!;
    expect(line.slice(typo.start_column! - 1)).toMatch(/^get_secret\('upstream_kye'\)/);
    const acme = (await checkRecords(h, headSha)).find((r) => r.tenant === 'acme')!;
    expect(acme.warnings).toHaveLength(1);
    expect(run.output.title).toContain('3 warnings');
  });

  it('a JSON response template that renders no JSON on a sample is a warning with the fix, once for the file, never blocking', async () => {
    const text = registry([
      connector('Weather API', { response_content_type: 'application/json', response_body: '{{ items }}' }),
      connector('Old Feed', { response_content_type: 'application/json', response_body: '{{ response.body | from_json | tojson }}' }),
    ]);
    const { headSha } = await openPullRequest(h, repo, { [FILE]: text });
    const run = await checkRunOf(h, repo, headSha);
    expect(run.conclusion).toBe('success');
    const warnings = run.annotations.filter((a) => a.annotation_level === 'warning');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.title).toBe('/connectors/0/response_body');
    expect(warnings[0]!.message).toContain('which is not JSON');
    expect(warnings[0]!.message).toContain('{{ items | tojson }}');
    expect(text.split('\n')[warnings[0]!.start_line - 1]).toContain('"response_body": "{{ items }}"');
    expect(run.output.summary).toContain('### Warnings');
    for (const r of await checkRecords(h, headSha)) {
      expect(r.warnings).toEqual([expect.objectContaining({ path: '/connectors/0/response_body', line: warnings[0]!.start_line })]);
    }
  });

  it('a file the head commit does not have: neutral, the plan shows what merging would delete', async () => {
    const { headSha } = await openPullRequest(h, repo, { [FILE]: null });
    const run = await checkRunOf(h, repo, headSha);
    expect(run.conclusion).toBe('neutral');
    expect(run.output.summary).toContain('| acme | 0 | 0 | 2: `old-feed`, `weather-api` |');
  });

  it('a pull request from a fork is read, never run: the check appears on its head commit', async () => {
    const fork = h.double.createRepo('mallory/pr-connectors');
    const { headSha, delivery } = await openPullRequest(h, repo, { [FILE]: registry([connector('Weather API'), connector('Old Feed'), connector('Fork Feed')]) }, { headRepo: fork });
    expect(delivery.status).toBe(202);
    const run = await checkRunOf(h, repo, headSha);
    expect(run.conclusion).toBe('success');
    expect(run.output.title).toBe('2 tenants: 2 created, 0 updated, 0 deleted');
  });

  it('synchronize re-checks the new head; closed and other actions are acknowledged and ignored', async () => {
    const first = await openPullRequest(h, repo, { [FILE]: registry([connector('Weather API')]) });
    await checkRunOf(h, repo, first.headSha);
    const next = repo.commit(`feature-${first.number}`, { [FILE]: registry([connector('Weather API'), connector('Old Feed')]) });
    const sync = await deliver(`${h.svc.url}/webhooks/github`, {
      event: 'pull_request',
      payload: pullRequestPayload(h.double, repo, { action: 'synchronize', number: first.number, base: 'main', headRef: `feature-${first.number}`, headSha: next }),
      secret: WEBHOOK_SECRET,
    });
    expect(sync).toMatchObject({ status: 202, body: { queued: 2 } });
    expect((await checkRunOf(h, repo, next)).conclusion).toBe('success');
    const closed = await deliver(`${h.svc.url}/webhooks/github`, {
      event: 'pull_request',
      payload: pullRequestPayload(h.double, repo, { action: 'closed', number: first.number, base: 'main', headRef: `feature-${first.number}`, headSha: next }),
      secret: WEBHOOK_SECRET,
    });
    expect(closed).toMatchObject({ status: 200, body: { queued: 0 } });
  });

  it('an unlinked repository or branch is acknowledged and ignored; forged or unsigned deliveries are 401 and queue nothing', async () => {
    const other = h.double.createRepo('acme/not-linked', { installationId: INSTALLATION });
    other.commit('main', { [FILE]: registry([connector('X')]) });
    const headSha = other.commit('feature', { [FILE]: registry([connector('Y')]) });
    const payload = pullRequestPayload(h.double, other, { action: 'opened', number: 900, base: 'main', headRef: 'feature', headSha });
    const jobs = async () => (await h.svc.services.sync.queues.status.getJobs(['waiting', 'active', 'delayed', 'completed', 'failed'])).filter((j) => j.name === 'check').length;
    const before = await jobs();
    expect(await deliver(`${h.svc.url}/webhooks/github`, { event: 'pull_request', payload, secret: WEBHOOK_SECRET })).toMatchObject({ status: 200, body: { queued: 0 } });
    const otherBase = pullRequestPayload(h.double, repo, { action: 'opened', number: 901, base: 'develop', headRef: 'feature-x', headSha: repo.head('main')! });
    expect(await deliver(`${h.svc.url}/webhooks/github`, { event: 'pull_request', payload: otherBase, secret: WEBHOOK_SECRET })).toMatchObject({ status: 200, body: { queued: 0 } });
    const linked = pullRequestPayload(h.double, repo, { action: 'opened', number: 902, base: 'main', headRef: 'feature-y', headSha: repo.head('main')! });
    expect((await deliver(`${h.svc.url}/webhooks/github`, { event: 'pull_request', payload: linked, secret: 'not-the-secret' })).status).toBe(401);
    expect((await deliver(`${h.svc.url}/webhooks/github`, { event: 'pull_request', payload: linked, secret: null })).status).toBe(401);
    expect(await jobs()).toBe(before);
    expect(other.checkRuns).toEqual([]);
  });
});

describe('pull request checks with a token (no check runs)', () => {
  let h: Harness;
  let repo: DoubleRepository;
  let warn: MockInstance;
  /** The log lines that say check runs fall back to commit statuses. */
  const fallbackLines = () => warn.mock.calls.filter((args) => args.some((a) => typeof a === 'string' && a.includes('cannot create check runs'))).length;

  beforeAll(async () => {
    h = await startHarness({ env: { PUBLIC_URL } });
    // Before the first delivery: the fallback is to be logged once over every test below.
    warn = vi.spyOn(h.svc.services.log, 'warn');
    repo = h.double.createRepo(REPO);
    repo.commit('main', { [FILE]: registry([connector('Weather API')]) });
    await h.createTenant('acme');
    expect((await h.link('acme', REPO)).status).toBe(201);
    await h.settle('acme', REPO);
  }, 120_000);
  afterAll(async () => h?.close());

  it('falls back to a commit status on the head with the plan\'s counts, linked to the record', async () => {
    const { headSha } = await openPullRequest(h, repo, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    await expect.poll(() => repo.statuses.find((s) => s.sha === headSha), { timeout: 60_000 }).toBeDefined();
    const status = repo.statuses.find((s) => s.sha === headSha)!;
    expect(status).toMatchObject({ state: 'success', context: 'gatehouse/connectors', description: `${FILE}: 1 tenant, 1 created, 0 updated, 0 deleted` });
    expect(h.double.count({ method: 'POST', path: /\/check-runs$/, status: 403 })).toBe(1);
    const [record] = await checkRecords(h, headSha);
    expect(status.target_url).toBe(`${PUBLIC_URL}/ui/#/syncs/${record!.id}`);
    await expect.poll(async () => (await h.svc.services.sync.history.get(record!.id))?.check_run?.result).toBe('not_permitted');
  });

  it('the repositories listing tells where to point the webhook and whether its secret is configured', async () => {
    const res = await h.admin('GET', '/webhook');
    expect(res.body).toEqual({ path: '/webhooks/github', url: `${PUBLIC_URL}/webhooks/github`, secret_configured: true });
  });

  it('commit statuses of syncs link to their record on the dashboard', async () => {
    const { sha } = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Old Feed')]) });
    const record = await h.settle('acme', REPO);
    await expect.poll(() => repo.statuses.find((s) => s.sha === sha), { timeout: 60_000 }).toBeDefined();
    expect(repo.statuses.find((s) => s.sha === sha)!.target_url).toBe(`${PUBLIC_URL}/ui/#/syncs/${record.id}`);
  });

  it('says once in the log that check runs fall back to commit statuses, however many deliveries fall back', async () => {
    for (const name of ['Feed A', 'Feed B']) {
      const { headSha } = await openPullRequest(h, repo, { [FILE]: registry([connector('Weather API'), connector(name)]) });
      await expect.poll(() => repo.statuses.find((s) => s.sha === headSha), { timeout: 60_000 }).toBeDefined();
    }
    // With a token a push is reported by its syncs' commit statuses alone: no check run is tried.
    const checkRuns = h.double.count({ method: 'POST', path: /\/check-runs$/ });
    const { sha } = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Feed C')]) });
    await expect.poll(() => repo.statuses.find((s) => s.sha === sha), { timeout: 60_000 }).toBeDefined();
    expect((await h.svc.services.sync.lastSync('acme', REPO))).toMatchObject({ sha, state: 'succeeded' });
    expect((await h.svc.services.sync.lastSync('acme', REPO))!.check_run).toBeUndefined();
    expect(h.double.count({ method: 'POST', path: /\/check-runs$/ })).toBe(checkRuns);
    expect(fallbackLines()).toBe(1);
  });
});
