import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import { deliver, pushPayload } from '../support/github-double-webhooks.js';
import { connector, registry, startHarness, WEBHOOK_SECRET, type Harness } from './harness.js';

/**
 * Latest wins (docs/design.md#latest-wins): replayed, late and out-of-order deliveries, GitHub's API lagging
 * behind its own webhook, and bursts of pushes collapsing into one follow-up run.
 */

const REPO = 'acme/ordering';
const FILE = 'connectors_registry.json';

describe('ordering and collapsing', () => {
  let h: Harness;
  const permalinks = async () => (await h.svc.services.registry.list('acme')).map((c) => c.definition.permalink).sort();
  const commit = (names: string[]) => h.double.repo(REPO).commit('main', { [FILE]: registry(names.map((n) => connector(n))) });

  beforeAll(async () => {
    h = await startHarness({ workers: { concurrency: 4 } });
    await h.createTenant('acme');
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('V0')]) });
    const res = await h.link('acme', REPO);
    await h.waitForSync(res.body.sync_id);
  });
  afterAll(async () => h?.close());

  it('out-of-order deliveries: the older push arriving last records unchanged; the newest commit stays live', async () => {
    const c0 = h.double.repo(REPO).head('main')!;
    const c1 = commit(['V1']);
    const c2 = commit(['V2']);
    await h.deliverPush(REPO, c1, c2);
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', sha: c2 });
    await h.deliverPush(REPO, c0, c1);
    const late = await h.settle('acme', REPO);
    expect(late).toMatchObject({ state: 'unchanged', sha: c2 });
    expect(await permalinks()).toEqual(['v2']);
  });

  it('a replayed older push while a newer commit is not applied yet records superseded; never applies the old file', async () => {
    const repo = h.double.repo(REPO);
    const c2 = repo.head('main')!;
    const c1 = repo.commits.get(c2)!.parents[0]!;
    const c0 = repo.commits.get(c1)!.parents[0]!;
    const c3 = commit(['V3']); // pushed, but its delivery is late
    await h.deliverPush(REPO, c0, c1); // a replay of an old delivery (new delivery id)
    const replay = await h.settle('acme', REPO);
    expect(replay).toMatchObject({ state: 'superseded', sha: c1 });
    expect(replay.last_error).toContain('older than the applied');
    expect(await permalinks()).toEqual(['v2']);
    expect(repo.statuses.some((s) => s.sha === c1 && s.state === 'success' && s.description?.includes('V1'))).toBe(false);
    await h.deliverPush(REPO, c2, c3);
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', sha: c3 });
    expect(await permalinks()).toEqual(['v3']);
  });

  it('the exact same delivery replayed (same X-GitHub-Delivery) is a duplicate and queues nothing', async () => {
    const repo = h.double.repo(REPO);
    const c3 = repo.head('main')!;
    const c4 = commit(['V4']);
    const first = await h.deliverPush(REPO, c3, c4);
    await h.settle('acme', REPO);
    const count = (await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length;
    const replay = await h.deliverPush(REPO, c3, c4, { deliveryId: first.deliveryId });
    expect([replay.status, replay.body]).toEqual([200, { queued: 0, duplicate: true }]);
    expect((await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length).toBe(count);
    expect(await permalinks()).toEqual(['v4']);
  });

  it('GitHub lagging behind its webhook (API still shows the previous head) is retried, not applied', async () => {
    const repo = h.double.repo(REPO);
    const c4 = repo.head('main')!;
    const c5 = commit(['V5']);
    repo.staleRefs.set('main', c4); // the API answers the old head for a while
    const lagging = h.double.count({ path: /\/git\/ref\/heads\/main$/ });
    await h.deliverPush(REPO, c4, c5);
    await expect.poll(() => h.double.count({ path: /\/git\/ref\/heads\/main$/ }) - lagging, { timeout: 5000 }).toBeGreaterThanOrEqual(1);
    expect(await permalinks()).toEqual(['v4']);
    repo.staleRefs.delete('main');
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', sha: c5 });
    expect(record.attempts).toBeGreaterThan(1);
    expect(await permalinks()).toEqual(['v5']);
  });

  it('a force-push back to an older commit applies the branch head (the branch is the source of truth)', async () => {
    const repo = h.double.repo(REPO);
    const c5 = repo.head('main')!;
    const c4 = repo.commits.get(c5)!.parents[0]!;
    repo.setBranch('main', c4);
    await h.deliverPush(REPO, c5, c4);
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', sha: c4, plan: { created: ['v4'], deleted: ['v5'] } });
    expect(await permalinks()).toEqual(['v4']);
  });

  it('a delivery naming a commit GitHub no longer knows (rewritten away) applies the branch head', async () => {
    const repo = h.double.repo(REPO);
    const before = repo.head('main')!;
    const head = commit(['Ghost']);
    const payload = { ...pushPayload(h.double, repo, { branch: 'main', before, after: head }), after: 'f'.repeat(40) };
    const res = await deliver(`${h.svc.url}/webhooks/github`, { event: 'push', payload, secret: WEBHOOK_SECRET });
    expect(res.status).toBe(202);
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', sha: head, plan: { created: ['ghost'] } });
  });

  it('a burst of pushes while a sync runs collapses into one follow-up run with the newest commit', async () => {
    const repo = h.double.repo(REPO);
    const before = (await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length;
    // Freeze the first sync while it reads the file, so the burst arrives while it runs.
    const hold = h.double.hold({ path: /\/contents\// });
    let prev = repo.head('main')!;
    const first = commit(['B0']);
    await h.deliverPush(REPO, prev, first);
    await hold.arrived();
    prev = first;
    const deliveries = [];
    for (let i = 1; i <= 10; i++) {
      const sha = commit([`B${i}`]);
      deliveries.push(await h.deliverPush(REPO, prev, sha));
      prev = sha;
    }
    expect(deliveries.every((d) => d.status === 202 && (d.body as { queued: number }).queued === 1)).toBe(true);
    hold.release();
    const last = await h.settle('acme', REPO);
    const records = (await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).slice(0, -before || undefined);
    expect(records).toHaveLength(2);
    const [followUp, running] = records as [SyncRecord, SyncRecord];
    expect(followUp.id).toBe(last.id);
    expect(followUp).toMatchObject({ state: 'succeeded', sha: prev, delivery_id: deliveries.at(-1)!.deliveryId });
    // One sync per link at a time: the follow-up started after the first one finished.
    expect(Date.parse(followUp.started_at!)).toBeGreaterThanOrEqual(Date.parse(running.finished_at!));
    expect(await permalinks()).toEqual(['b10']);
  });

  it('unlinking while a sync is running: the sync cannot bring the connectors back', async () => {
    h.double.createRepo('acme/unlink-race').commit('main', { [FILE]: registry([connector('Race A')]) });
    await h.waitForSync((await h.link('acme', 'acme/unlink-race')).body.sync_id);
    const hold = h.double.hold({ path: /\/repos\/acme\/unlink-race\/contents\// });
    await h.push('acme/unlink-race', { [FILE]: registry([connector('Race A'), connector('Race B')]) });
    await hold.arrived();
    const unlinking = h.admin<{ deleted: string[] }>('DELETE', '/tenants/acme/repositories/acme/unlink-race');
    await new Promise((r) => setTimeout(r, 200));
    hold.release();
    const res = await unlinking;
    expect(res).toMatchObject({ status: 200, body: { deleted: ['race-a'] } });
    const record = (await h.svc.services.sync.lastSync('acme', 'acme/unlink-race'))!;
    expect(record).toMatchObject({ state: 'superseded', last_error: 'the repository was unlinked' });
    await new Promise((r) => setTimeout(r, 200));
    expect((await h.svc.services.registry.list('acme')).filter((c) => c.repository === 'acme/unlink-race')).toEqual([]);
  });

  it('a burst with nothing running yet still makes one run for the whole burst at most per started sync', async () => {
    const repo = h.double.repo(REPO);
    const before = (await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length;
    let prev = repo.head('main')!;
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const from = prev;
      prev = commit([`C${i}`]);
      return h.deliverPush(REPO, from, prev);
    }));
    expect(results.every((r) => r.status === 202)).toBe(true);
    await h.settle('acme', REPO);
    const created = (await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length - before;
    expect(created).toBeLessThanOrEqual(3);
    expect(await permalinks()).toEqual(['c19']);
  });
});
