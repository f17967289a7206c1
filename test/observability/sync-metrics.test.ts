import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import { createServices } from '../../src/services.js';
import { deliver } from '../support/github-double-webhooks.js';
import { scrape, value } from '../support/metrics.js';
import { testRedisUrl } from '../support/redis.js';
import { testConfig } from '../support/service.js';
import { connector, registry, startHarness, type Harness } from '../sync/harness.js';

const REPO = 'octo/metrics-connectors';
const FILE = 'connectors_registry.json';

/** /metrics after real webhook deliveries, syncs and queue jobs: values, not only names. */
describe('webhook, queue and sync metrics', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('Weather API')]) });
  });
  afterAll(async () => h?.close());

  it('counts deliveries by event and outcome, syncs per link, and job durations per queue', async () => {
    const linked = await h.link('acme', REPO);
    expect((await h.waitForSync(linked.body.sync_id)).state).toBe('succeeded');

    const pushed = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    expect(pushed.delivery.status).toBe(202);
    const again = await h.deliverPush(REPO, undefined, pushed.sha, { deliveryId: pushed.delivery.deliveryId });
    expect(again.status).toBe(200);
    const forged = await deliver(`${h.svc.url}/webhooks/github`, { event: 'push', payload: { ref: 'refs/heads/main' }, secret: 'not-the-secret' });
    expect(forged.status).toBe(401);
    const ping = await deliver(`${h.svc.url}/webhooks/github`, { event: 'ping', payload: { zen: 'x' }, secret: 'webhook-secret-for-tests-0123456789' });
    expect(ping.status).toBe(200);
    expect((await h.settle('acme', REPO)).state).toBe('succeeded');

    // Job events are emitted after the sync record is written: wait for the counters, then check them.
    await expect.poll(async () => value(await scrape(h.svc.url), 'gatehouse_queue_job_duration_seconds_count', { queue: 'sync', outcome: 'completed' }), { timeout: 10_000 }).toBe(2);
    const m = await scrape(h.svc.url);
    expect(value(m, 'gatehouse_webhook_deliveries_total', { source: 'github', event: 'push', outcome: 'queued' })).toBe(1);
    expect(value(m, 'gatehouse_webhook_deliveries_total', { source: 'github', event: 'push', outcome: 'duplicate' })).toBe(1);
    expect(value(m, 'gatehouse_webhook_deliveries_total', { source: 'github', event: 'push', outcome: 'rejected' })).toBe(1);
    expect(value(m, 'gatehouse_webhook_deliveries_total', { source: 'github', event: 'ping', outcome: 'ignored' })).toBe(1);
    expect(value(m, 'gatehouse_link_syncs_total', { tenant: 'acme', repository: REPO, state: 'succeeded' })).toBe(2);
    expect(value(m, 'gatehouse_link_sync_duration_seconds_count', { tenant: 'acme', repository: REPO })).toBe(2);
    expect(value(m, 'gatehouse_queue_job_duration_seconds_sum', { queue: 'sync', outcome: 'completed' })).toBeGreaterThan(0);
    // Queue depth is read from Redis at scrape time: every state of every queue is there, and idle now.
    for (const queue of ['sync', 'status', 'reconcile']) {
      expect(m.some((s) => s.name === 'gatehouse_queue_jobs' && s.labels.queue === queue && s.labels.state === 'waiting')).toBe(true);
    }
    expect(value(m, 'gatehouse_queue_jobs', { queue: 'sync', state: 'active' })).toBe(0);

    // The dashboard's queue chart: the finished sync jobs of this minute.
    const usage = await h.admin<{ series: { queues: Record<string, { completed: number }> }[] }>('GET', '/queues/usage?range=hour');
    expect(usage.status).toBe(200);
    expect(usage.body.series.reduce((n, p) => n + p.queues.sync!.completed, 0)).toBe(2);
  });

  it('the queue depth gauge counts waiting jobs', async () => {
    await h.workers!.close();
    const res = await h.admin<{ sync_id: string }>('POST', `/tenants/acme/repositories/${REPO}/sync`);
    expect(res.status).toBe(202);
    const m = await scrape(h.svc.url);
    expect(value(m, 'gatehouse_queue_jobs', { queue: 'sync', state: 'waiting' })).toBe(1);
  });
});

describe('webhooks without GITHUB_WEBHOOK_SECRET', () => {
  it('the expected 503 WEBHOOKS_NOT_CONFIGURED is a warning without a stack trace, counted as not_configured', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
        cb();
      },
    });
    const config = testConfig({ GITHUB_WEBHOOK_SECRET: '', LOG_LEVEL: 'info' });
    const services = await createServices({ config, log: createLogger('info', sink), stateUrl: testRedisUrl(), cacheUrl: testRedisUrl() });
    const app = await buildApp(services, { roles: { api: true, worker: false } });
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    try {
      const res = await deliver(`${url}/webhooks/github`, { event: 'push', payload: { zen: 'x' }, secret: 'anything' });
      expect(res.status).toBe(503);
      await new Promise((r) => setTimeout(r, 20));
      const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; code?: string; err?: unknown; stack?: unknown });
      const refused = logged.filter((l) => l.code === 'WEBHOOKS_NOT_CONFIGURED');
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({ level: 40 });
      expect(logged.some((l) => l.level >= 50)).toBe(false);
      expect(lines.join('\n')).not.toMatch(/"stack"|at .*\.js:\d+/);
      expect(value(await scrape(url), 'gatehouse_webhook_deliveries_total', { event: 'push', outcome: 'not_configured' })).toBe(1);
    } finally {
      await app.close();
      await services.close();
    }
  });
});
