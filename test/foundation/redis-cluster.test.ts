import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type TestRedisCluster } from '../support/redis-cluster.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { connector, registry, startHarness, type Harness } from '../sync/harness.js';

/**
 * Gatehouse on a real three-master Redis Cluster (`redis+cluster://…`): every multi-key operation
 * (registry Lua scripts, cache entries, token locks, BullMQ queues) must stay within one hash slot.
 * Admin writes, secrets, execute with a cache hit served from Redis by a second instance, and a
 * GitOps push through BullMQ to live connectors.
 */
describe('on a Redis Cluster', () => {
  let cluster: TestRedisCluster;
  let h: Harness;
  let second: TestService;
  let up: TestUpstream;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    up = await startUpstream();
    up.route('/forecast', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
      res.end(JSON.stringify({ temp: 21, key_seen: req.headers['x-api-key'] === 'cluster-secret-value' }));
    });
    h = await startHarness({ env: { REDIS_URL: cluster.url } });
    second = await startTestService({ env: { REDIS_URL: cluster.url, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
  }, 60_000);

  afterAll(async () => {
    await second?.close();
    await h?.close();
    await up?.close();
    await cluster?.stop();
  });

  it('admin writes, secrets and execute work, and a miss in one instance is a hit in the other', async () => {
    await h.createTenant('acme');
    expect((await h.admin('PUT', '/tenants/acme/secrets/api_key', { value: 'cluster-secret-value' })).status).toBe(201);
    expect((await h.admin('PUT', '/tenants/acme/variables/city', { value: 'Oslo' })).status).toBe(201);
    const created = await h.admin('POST', '/tenants/acme/connectors', {
      name: 'Forecast',
      url: `${up.url}/forecast`,
      query_parameters: [{ key: 'city', value: "{{ get_variable('city') }}", overridable: false }],
      headers: [{ key: 'X-Api-Key', value: "{{ get_secret('api_key') }}", overridable: false }],
    });
    expect(created.status).toBe(201);
    expect((await h.admin<{ items: { masked: string }[] }>('GET', '/tenants/acme/secrets')).body.items[0]!.masked).toBe('c*********');

    const first = await fetch(`${h.svc.url}/t/acme/connectors/forecast/execute`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(await first.json()).toEqual({ temp: 21, key_seen: true });
    await expect.poll(async () => (await fetch(`${second.url}/t/acme/connectors/forecast/execute`)).headers.get('x-cache'), { timeout: 5000 }).toBe('HIT');
    expect(up.requests).toHaveLength(1);
    expect(up.requests[0]!.query.get('city')).toBe('Oslo');

    const purge = await fetch(`${h.svc.url}/admin/v1/tenants/acme/connectors/forecast/cache`, { method: 'DELETE', headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` } });
    expect(purge.status).toBe(200);
    // the other instance's memory tier may answer for up to a second more (docs/cache.md)
    await expect.poll(async () => (await fetch(`${second.url}/t/acme/connectors/forecast/execute`)).headers.get('x-cache'), { timeout: 3000, interval: 200 }).toBe('MISS');
    expect(up.requests).toHaveLength(2);
  });

  it('a push goes through the BullMQ queues to live connectors, and a broken push keeps them', async () => {
    await h.createTenant('globex');
    const repo = h.double.createRepo('globex/connectors');
    repo.commit('main', { 'connectors_registry.json': registry([connector('Weather API'), connector('Stock Quotes')]) });
    const linked = await h.link('globex', 'globex/connectors');
    expect(linked.status).toBe(201);
    expect(await h.waitForSync(linked.body.sync_id)).toMatchObject({ state: 'succeeded', plan: { created: ['stock-quotes', 'weather-api'] } });

    const { delivery } = await h.push('globex/connectors', { 'connectors_registry.json': registry([connector('Weather API')]) });
    expect(delivery.status).toBe(202);
    expect(await h.settle('globex', 'globex/connectors')).toMatchObject({ state: 'succeeded', plan: { deleted: ['stock-quotes'] } });

    await h.push('globex/connectors', { 'connectors_registry.json': '{"connectors": [' });
    expect(await h.settle('globex', 'globex/connectors')).toMatchObject({ state: 'failed' });
    const live = (await h.svc.services.registry.list('globex')).map((c) => c.definition.permalink);
    expect(live).toEqual(['weather-api']);
    const queues = await h.admin<{ items: { name: string; counts: { failed: number } }[] }>('GET', '/queues');
    expect(queues.status).toBe(200);
    expect(queues.body.items.map((q) => q.name)).toEqual(expect.arrayContaining(['sync', 'status', 'reconcile']));
  });
});
