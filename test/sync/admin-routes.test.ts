import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/** The admin surface of the sync (docs/admin-api.md, docs/sync.md): links, history, queues; errors in the admin envelope. */

describe('repository, sync and queue admin routes', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
    h.double.createRepo('acme/admin').commit('main', { 'connectors_registry.json': registry([connector('One')]) });
  });
  afterAll(async () => h?.close());

  it('validates link requests', async () => {
    expect((await h.admin('PUT', '/tenants/nobody/repositories/acme/admin', { branch: 'main' }))).toMatchObject({ status: 404, body: { error: { code: 'TENANT_NOT_FOUND' } } });
    expect((await h.admin('PUT', '/tenants/acme/repositories/acme/admin', {})).status).toBe(400);
    expect((await h.admin('PUT', '/tenants/acme/repositories/acme/admin', { branch: 'main', extra: 1 })).status).toBe(400);
    for (const branch of ['', 'a..b', 'has space', 'end/', 'x.lock', '-']) {
      const res = await h.admin<{ error: { code: string } }>('PUT', '/tenants/acme/repositories/acme/admin', { branch });
      expect([branch, res.status, res.body.error.code]).toEqual([branch, 400, 'INVALID_BRANCH']);
    }
    for (const path of ['/abs.json', '../up.json', 'a//b.json', 'a/./b.json']) {
      const res = await h.admin<{ error: { code: string } }>('PUT', '/tenants/acme/repositories/acme/admin', { branch: 'main', path });
      expect([path, res.status, res.body.error.code]).toEqual([path, 400, 'INVALID_PATH']);
    }
    const badRepo = await h.admin<{ error: { code: string } }>('PUT', '/tenants/acme/repositories/acme/ad%20min', { branch: 'main' });
    expect([badRepo.status, badRepo.body.error.code]).toEqual([400, 'INVALID_REPOSITORY']);
    expect((await h.admin('GET', '/tenants/acme/repositories')).body).toEqual({ items: [] });
  });

  it('links (201) and re-links (200); each PUT queues a sync; the operator token is required', async () => {
    const first = await h.link('acme', 'acme/admin');
    expect(first.status).toBe(201);
    const again = await h.link('acme', 'acme/admin');
    expect(again.status).toBe(200);
    expect(again.body.sync_id).not.toBe(first.body.sync_id);
    await h.settle('acme', 'acme/admin');
    const res = await fetch(`${h.svc.url}/admin/v1/tenants/acme/repositories/acme/admin`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"branch":"main"}' });
    expect(res.status).toBe(401);
  });

  it('resync: 202 {sync_id}; 404 for an unlinked repository or unknown tenant', async () => {
    const res = await h.admin<{ sync_id: string }>('POST', '/tenants/acme/repositories/acme/admin/sync');
    expect(res.status).toBe(202);
    expect(res.body.sync_id).toMatch(/^sy_/);
    await h.waitForSync(res.body.sync_id);
    expect(await h.admin('POST', '/tenants/acme/repositories/acme/other/sync')).toMatchObject({ status: 404, body: { error: { code: 'REPOSITORY_NOT_LINKED' } } });
    expect((await h.admin('POST', '/tenants/nobody/repositories/acme/admin/sync')).status).toBe(404);
  });

  it('serves sync records by id and by query; validates the query', async () => {
    const list = await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=acme&repository=ACME/Admin&limit=2');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(2);
    const one = await h.admin<SyncRecord>('GET', `/syncs/${list.body.items[0]!.id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(list.body.items[0]);
    expect(Object.keys(one.body)).toEqual(expect.arrayContaining(['id', 'tenant', 'repository', 'branch', 'sha', 'trigger', 'state', 'created_at', 'finished_at', 'duration_ms', 'plan', 'errors']));
    expect(await h.admin('GET', '/syncs/sy_nope')).toMatchObject({ status: 404, body: { error: { code: 'SYNC_NOT_FOUND' } } });
    expect((await h.admin('GET', '/syncs?state=exploded')).status).toBe(400);
    expect((await h.admin('GET', '/syncs?limit=0')).status).toBe(400);
    const byRepo = await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?repository=acme/admin&state=succeeded');
    expect(byRepo.body.items.length).toBeGreaterThanOrEqual(3);
    expect(byRepo.body.items.every((r) => r.state === 'succeeded' && r.repository === 'acme/admin')).toBe(true);
    expect((await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=nobody')).body.items).toEqual([]);
  });

  it('lists links with their last sync', async () => {
    const res = await h.admin<{ items: { repository: string; branch: string; path: string; applied_commit: string; last_sync: SyncRecord }[] }>('GET', '/tenants/acme/repositories');
    expect(res.body.items).toEqual([
      expect.objectContaining({ repository: 'acme/admin', branch: 'main', path: 'connectors_registry.json', applied_commit: h.double.repo('acme/admin').head('main') }),
    ]);
    expect(res.body.items[0]!.last_sync.trigger).toBe('manual');
  });

  it('counts jobs per queue and state, with the workers serving each', async () => {
    const res = await h.admin<{ items: { name: string; counts: Record<string, number>; workers: number }[]; github_blocked_until: string | null }>('GET', '/queues');
    expect(res.status).toBe(200);
    expect(res.body.items.map((q) => q.name)).toEqual(['sync', 'status', 'reconcile']);
    for (const q of res.body.items) {
      expect(Object.keys(q.counts).sort()).toEqual(['active', 'completed', 'delayed', 'failed', 'paused', 'prioritized', 'waiting']);
      expect(q.workers).toBeGreaterThanOrEqual(1);
    }
    expect(res.body.items[0]!.counts.completed).toBeGreaterThanOrEqual(3);
    expect(res.body.github_blocked_until).toBeNull();
  });

  it('keeps the last 100 records per link', async () => {
    for (let i = 0; i < 105; i++) {
      await h.svc.services.sync.coordinator.trigger({ tenant: 'acme', repository: 'acme/admin', repoKey: 'acme/admin', branch: 'main', trigger: 'manual' });
      await h.settle('acme', 'acme/admin');
    }
    const all = await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=acme&repository=acme/admin&limit=500');
    expect(all.body.items).toHaveLength(100);
    expect((await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?limit=500')).body.items).toHaveLength(100);
  }, 60_000);

  it('reports the workers in /readyz', async () => {
    const ready = await fetch(`${h.svc.url}/readyz`);
    expect(h.svc.services.workersRunning()).toBe(true);
    expect(ready.status).toBe(200);
  });
});

describe('sync as a GitHub App installation', () => {
  let h: Harness;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    h = await startHarness({
      double: { tokens: [], app: { appId: 777, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() } },
      env: { GITHUB_TOKEN: '', GITHUB_APP_ID: '777', GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() },
    });
    await h.createTenant('acme');
    h.double.createRepo('org/app-repo', { installationId: 4242 }).commit('main', { 'connectors_registry.json': registry([connector('Via App')]) });
  });
  afterAll(async () => h?.close());

  it('reads the repository with an installation token and posts the status with it', async () => {
    const record = await h.waitForSync((await h.link('acme', 'org/app-repo')).body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', plan: { created: ['via-app'] } });
    const reads = h.double.requests.filter((r) => r.path.startsWith('/repos/org/app-repo/') && !r.path.endsWith('/installation'));
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.every((r) => r.auth === 'installation')).toBe(true);
    await expect.poll(() => h.double.repo('org/app-repo').statuses.length).toBe(1);
    expect(h.double.requests.find((r) => r.path.includes('/statuses/'))!.auth).toBe('installation');
  });
});

describe('linking checks with GitHub at once', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
    h.double.createRepo('acme/admin').commit('main', { 'connectors_registry.json': registry([connector('One')]) });
  });
  afterAll(async () => h?.close());

  it('refuses at once (422, nothing linked, nothing queued) a repository or branch GitHub does not have or will not show', async () => {
    h.double.createRepo('acme/hidden', { private: true }).commit('main', { 'connectors_registry.json': registry([]) });
    const syncsBefore = (await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=acme&limit=500')).body.items.length;
    const cases: Array<[string, string, string]> = [
      ['acme/nope', 'main', 'GitHub has no repository acme/nope, or the configured GitHub credentials cannot read it'],
      ['acme/admin', 'mian', 'acme/admin has no branch "mian"'],
    ];
    for (const [repository, branch, reason] of cases) {
      const res = await h.admin<{ error: { code: string; message: string } }>('PUT', `/tenants/acme/repositories/${repository}`, { branch });
      expect([repository, branch, res.status, res.body.error.code]).toEqual([repository, branch, 422, 'REPOSITORY_NOT_READABLE']);
      expect(res.body.error.message).toContain(reason);
      expect(res.body.error.message).not.toContain('ghp_');
    }
    // a credential GitHub refuses (401 Bad credentials) is named as such
    h.double.inject({ path: /\/git\/ref\/heads\/main$/, fault: { kind: 'status', status: 401, message: 'Bad credentials' } });
    const refused = await h.admin<{ error: { code: string; message: string } }>('PUT', '/tenants/acme/repositories/acme/hidden', { branch: 'main' });
    expect([refused.status, refused.body.error.code]).toEqual([422, 'REPOSITORY_NOT_READABLE']);
    expect(refused.body.error.message).toContain('Bad credentials');
    expect((await h.admin<{ items: unknown[] }>('GET', '/tenants/acme/repositories')).body.items.map((l: any) => l.repository)).not.toContain('acme/nope');
    expect((await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=acme&limit=500')).body.items.length).toBe(syncsBefore);
  });

  it('links anyway when GitHub cannot answer now (5xx): the first sync retries in the background', async () => {
    h.double.createRepo('acme/flaky').commit('main', { 'connectors_registry.json': registry([connector('Flaky')]) });
    h.double.inject({ path: /acme\/flaky\/git\/ref\/heads\/main$/, fault: { kind: 'status', status: 502 } });
    const res = await h.link('acme', 'acme/flaky');
    expect(res.status).toBe(201);
    expect((await h.waitForSync(res.body.sync_id)).state).toBe('succeeded');
    expect((await h.admin('DELETE', '/tenants/acme/repositories/acme/flaky')).status).toBe(200);
  });
});
