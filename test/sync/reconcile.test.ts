import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syncKeys } from '../../src/sync/keys.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import { RECONCILE_SCHEDULER_ID } from '../../workers/sync-worker.js';
import { testRedisClient } from '../support/redis.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * Reconciliation: a BullMQ job scheduler re-checks every linked branch every RECONCILE_INTERVAL_S
 * with conditional requests, so a missed webhook is repaired; it also frees links whose
 * coordination state points at jobs that no longer exist.
 */

const FILE = 'connectors_registry.json';

describe('reconciliation by the job scheduler', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { RECONCILE_INTERVAL_S: '1' } });
    await h.createTenant('acme');
    h.double.createRepo('acme/missed').commit('main', { [FILE]: registry([connector('First')]) });
    await h.waitForSync((await h.link('acme', 'acme/missed')).body.sync_id);
  });
  afterAll(async () => h?.close());

  it('registers a job scheduler every RECONCILE_INTERVAL_S', async () => {
    const schedulers = await h.svc.services.sync.queues.reconcile.getJobSchedulers();
    expect(schedulers).toEqual([expect.objectContaining({ key: RECONCILE_SCHEDULER_ID, every: 1000 })]);
  });

  it('repairs a missed webhook: the branch moved, no delivery came, a reconcile sync applies it', async () => {
    const sha = h.double.repo('acme/missed').commit('main', { [FILE]: registry([connector('Second')]) });
    await expect.poll(async () => (await h.svc.services.sync.lastSync('acme', 'acme/missed'))?.sha, { timeout: 10_000 }).toBe(sha);
    const record = await h.settle('acme', 'acme/missed');
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'reconcile', sha, plan: { created: ['second'], deleted: ['first'] } });
  });

  it('re-checks with If-None-Match: an unchanged branch costs a 304 and queues nothing', async () => {
    const syncs = (await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length;
    const before = h.double.count({ path: /\/git\/ref\/heads\/main$/, status: 304 });
    await expect.poll(() => h.double.count({ path: /\/git\/ref\/heads\/main$/, status: 304 }) - before, { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const conditional = h.double.requests.filter((r) => r.path.endsWith('/git/ref/heads/main') && r.status === 304);
    expect(conditional.every((r) => typeof r.headers['if-none-match'] === 'string')).toBe(true);
    expect((await h.svc.services.sync.history.query({ tenant: 'acme', limit: 500 })).length).toBe(syncs);
  });
});

describe('reconciliation repairs the coordination state', () => {
  let h: Harness;
  let reconciler: Reconciler;
  const redis = testRedisClient();

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    await h.createTenant('acme');
    h.double.createRepo('acme/stranded').commit('main', { [FILE]: registry([connector('Stranded')]) });
    const s = h.svc.services.sync;
    reconciler = new Reconciler({ redis: h.svc.services.redis, github: s.github, links: s.links, coordinator: s.coordinator, history: s.history, queues: s.queues, gate: s.gate, log: h.svc.services.log });
  });
  afterAll(async () => {
    redis.disconnect();
    await h?.close();
  });

  it('re-queues a pending sync whose job was lost (a process died between recording and queueing)', async () => {
    const res = await h.link('acme', 'acme/stranded');
    const id = res.body.sync_id;
    await h.svc.services.sync.queues.sync.remove(id);
    expect(await h.svc.services.sync.queues.sync.getJob(id)).toBeUndefined();
    expect((await h.svc.services.sync.coordinator.linkState('acme', 'acme/stranded')).pending).toBe(id);
    const report = await reconciler.run();
    expect(report.repaired).toBe(1);
    expect(await h.svc.services.sync.queues.sync.getJob(id)).toBeDefined();
    await h.startWorkers();
    expect(await h.waitForSync(id)).toMatchObject({ state: 'succeeded' });
  });

  it('releases a link held by a sync whose job vanished, and the next push runs', async () => {
    await redis.hset(syncKeys.linkState('acme', 'acme/stranded'), 'running', 'sy_000000000deadbeefcafe');
    const { delivery } = await h.push('acme/stranded', { [FILE]: registry([connector('Again')]) });
    expect(delivery.status).toBe(202);
    // Held: nothing can run while the link is claimed.
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.svc.services.sync.lastSync('acme', 'acme/stranded'))!.state).toBe('queued');
    const report = await reconciler.run();
    expect(report.repaired).toBe(1);
    expect(await h.settle('acme', 'acme/stranded')).toMatchObject({ state: 'succeeded', plan: { created: ['again'] } });
  });
});
