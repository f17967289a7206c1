import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncKeys } from '../../src/sync/keys.js';
import { deliver, examplePayload, pingPayload, pushPayload, signBody } from '../support/github-double-webhooks.js';
import { testRedisClient } from '../support/redis.js';
import { startTestService, type TestService } from '../support/service.js';
import { connector, registry, startHarness, WEBHOOK_SECRET, type Harness } from './harness.js';

/**
 * `POST /webhooks/github`: verification, de-duplication and the answers of
 * docs/design.md#webhook-answers. Workers are not running here: what matters is what gets queued.
 */

const REPO = 'acme/hooks';

describe('webhook intake', () => {
  let h: Harness;
  let url: string;
  const redis = testRedisClient();
  const syncCount = async () => (await h.svc.services.sync.history.query({ limit: 500 })).length;
  const jobCount = async () => {
    const c = await h.svc.services.sync.queues.sync.getJobCounts('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized');
    return Object.values(c).reduce((a, b) => a + b, 0);
  };

  beforeAll(async () => {
    h = await startHarness({ workers: false, env: { GITHUB_WEBHOOK_SECRET: `old-secret-0123456789,${WEBHOOK_SECRET}` } });
    url = `${h.svc.url}/webhooks/github`;
    await h.createTenant('acme');
    h.double.createRepo(REPO, { installationId: 5 }).commit('main', { 'connectors_registry.json': registry([connector('A')]) });
    h.double.createRepo('acme/unlinked').commit('main', { 'x.txt': 'x' });
    expect((await h.link('acme', REPO)).status).toBe(201);
  });
  afterAll(async () => {
    redis.disconnect();
    await h?.close();
  });

  function push(repo = REPO, branch = 'main') {
    const r = h.double.repo(repo);
    const before = r.head(branch);
    const after = r.commit(branch, { 'x.txt': String(Math.random()) });
    return pushPayload(h.double, r, { branch, before, after });
  }

  it('rejects a missing signature with 401 and queues nothing', async () => {
    const [syncs, jobs] = [await syncCount(), await jobCount()];
    const res = await deliver(url, { event: 'push', payload: push(), secret: null });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ error: { code: 'INVALID_SIGNATURE' } });
    expect([await syncCount(), await jobCount()]).toEqual([syncs, jobs]);
  });

  it('rejects a wrong signature (wrong secret, tampered body, malformed header) with 401 and queues nothing', async () => {
    const [syncs, jobs] = [await syncCount(), await jobCount()];
    expect((await deliver(url, { event: 'push', payload: push(), secret: 'not-the-secret' })).status).toBe(401);
    const payload = push();
    const tampered = signBody(WEBHOOK_SECRET, JSON.stringify({ ...payload, after: '0'.repeat(40) })).sha256;
    expect((await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET, signature: tampered })).status).toBe(401);
    expect((await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET, signature: 'sha256=zz' })).status).toBe(401);
    expect((await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET, signature: signBody(WEBHOOK_SECRET, JSON.stringify(payload)).sha1 })).status).toBe(401);
    expect([await syncCount(), await jobCount()]).toEqual([syncs, jobs]);
  });

  it('does not remember a delivery rejected with 401: the same id is accepted once correctly signed', async () => {
    const payload = push();
    const deliveryId = 'redelivered-after-secret-fix';
    expect((await deliver(url, { event: 'push', payload, secret: 'wrong', deliveryId })).status).toBe(401);
    expect(await redis.exists(syncKeys.delivery(deliveryId))).toBe(0);
    const ok = await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET, deliveryId });
    expect(ok.status).toBe(202);
    expect(ok.body).toEqual({ queued: 1 });
  });

  it('accepts both secrets of a rotation', async () => {
    expect((await deliver(url, { event: 'push', payload: push(), secret: 'old-secret-0123456789' })).status).toBe(202);
    expect((await deliver(url, { event: 'push', payload: push(), secret: WEBHOOK_SECRET })).status).toBe(202);
  });

  it('de-duplicates by X-GitHub-Delivery', async () => {
    const payload = push();
    const first = await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET });
    expect(first.status).toBe(202);
    const [syncs, jobs] = [await syncCount(), await jobCount()];
    const again = await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET, deliveryId: first.deliveryId });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ queued: 0, duplicate: true });
    expect([await syncCount(), await jobCount()]).toEqual([syncs, jobs]);
  });

  it('answers ping, ignores other events, other branches, tags and unlinked repositories with 200 {queued: 0}', async () => {
    const [syncs, jobs] = [await syncCount(), await jobCount()];
    const ping = await deliver(url, { event: 'ping', payload: pingPayload(h.double, h.double.repo(REPO)), secret: WEBHOOK_SECRET });
    expect([ping.status, ping.body]).toEqual([200, { queued: 0 }]);
    for (const event of ['pull_request', 'installation', 'installation_repositories']) {
      const res = await deliver(url, { event, payload: examplePayload(event), secret: WEBHOOK_SECRET });
      expect([event, res.status, res.body]).toEqual([event, 200, { queued: 0 }]);
    }
    const other = await deliver(url, { event: 'push', payload: push(REPO, 'feature/x'), secret: WEBHOOK_SECRET });
    expect([other.status, other.body]).toEqual([200, { queued: 0 }]);
    const tag = { ...push(), ref: 'refs/tags/v1.0.0' };
    expect((await deliver(url, { event: 'push', payload: tag, secret: WEBHOOK_SECRET })).body).toEqual({ queued: 0 });
    const unlinked = await deliver(url, { event: 'push', payload: push('acme/unlinked'), secret: WEBHOOK_SECRET });
    expect([unlinked.status, unlinked.body]).toEqual([200, { queued: 0 }]);
    // A push to an unlinked branch records nothing.
    expect([await syncCount(), await jobCount()]).toEqual([syncs, jobs]);
  });

  it('queues jobs that carry identifiers only (no payload, file content or credentials)', async () => {
    const jobs = await h.svc.services.sync.queues.sync.getJobs(['waiting', 'delayed', 'active']);
    expect(jobs.length).toBeGreaterThan(0);
    for (const job of jobs) {
      expect(Object.keys(job.data).sort()).toEqual(['repoKey', 'syncId', 'tenant']);
      expect(job.id).toBe(job.data.syncId);
    }
  });

  it('matches the repository case-insensitively, as GitHub names are', async () => {
    const payload = push() as { repository: { full_name: string } };
    payload.repository.full_name = 'ACME/Hooks';
    expect((await deliver(url, { event: 'push', payload, secret: WEBHOOK_SECRET })).body).toEqual({ queued: 1 });
  });

  it('accepts form-encoded deliveries (payload=…) verified over the raw body', async () => {
    const res = await deliver(url, { event: 'push', payload: push(), secret: WEBHOOK_SECRET, contentType: 'form' });
    expect(res.status).toBe(202);
  });

  it('reads the form media type case-insensitively', async () => {
    const json = JSON.stringify(push());
    const body = `payload=${encodeURIComponent(json)}`;
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'Application/X-WWW-Form-Urlencoded', 'x-github-event': 'push', 'x-github-delivery': `form-case-${Math.random()}`, 'x-hub-signature-256': signBody(WEBHOOK_SECRET, body).sha256 },
      body,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ queued: 1 });
  });

  it('answers a correctly signed push whose payload is JSON but not an object with 400 INVALID_PAYLOAD, not 500, and does not remember it', async () => {
    for (const body of ['null', '[1]', '"x"', '7']) {
      const deliveryId = `non-object-${body}-${Math.random()}`;
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-github-delivery': deliveryId, 'x-hub-signature-256': signBody(WEBHOOK_SECRET, body).sha256 },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({ error: { code: 'INVALID_PAYLOAD' } });
      expect(await redis.exists(syncKeys.delivery(deliveryId))).toBe(0);
    }
  });

  it('refuses a media type GitHub never sends with 415, not a misleading 401 signature error', async () => {
    const [syncs, jobs] = [await syncCount(), await jobCount()];
    const body = JSON.stringify(pingPayload(h.double, h.double.repo(REPO)));
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'x-github-event': 'ping', 'x-github-delivery': `text-${Math.random()}`, 'x-hub-signature-256': signBody(WEBHOOK_SECRET, body).sha256 },
      body,
    });
    expect(res.status).toBe(415);
    expect(await res.json()).toMatchObject({ error: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    expect([await syncCount(), await jobCount()]).toEqual([syncs, jobs]);
  });

  it('takes payloads far above the admin API body limit (GitHub sends up to 25 MB), refuses larger ones', async () => {
    const big = { ...push(), padding: 'p'.repeat(5 * 1024 * 1024) };
    const res = await deliver(url, { event: 'push', payload: big, secret: WEBHOOK_SECRET });
    expect(res.status).toBe(202);
    const huge = { ...push(), padding: 'p'.repeat(26 * 1024 * 1024) };
    expect((await deliver(url, { event: 'push', payload: huge, secret: WEBHOOK_SECRET })).status).toBe(413);
  });

  it('answers every delivery within milliseconds', async () => {
    const times: number[] = [];
    for (let i = 0; i < 50; i++) times.push((await deliver(url, { event: 'push', payload: push(), secret: WEBHOOK_SECRET })).ms);
    times.sort((a, b) => a - b);
    expect(times[Math.floor(times.length / 2)]!).toBeLessThan(100);
  });
});

describe('webhook intake without GITHUB_WEBHOOK_SECRET', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService({ env: { GITHUB_WEBHOOK_SECRET: '' } });
  });
  afterAll(async () => svc?.close());

  it('refuses every delivery with a clear error', async () => {
    const res = await deliver(`${svc.url}/webhooks/github`, { event: 'ping', payload: { zen: 'x' }, secret: 'anything' });
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: { code: 'WEBHOOKS_NOT_CONFIGURED' } });
    expect(JSON.stringify(res.body)).toContain('GITHUB_WEBHOOK_SECRET');
  });
});
