import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { startUpstream } from '../support/upstream.js';

describe('ops endpoints', () => {
  let svc: TestService;
  beforeAll(async () => {
    await flushTestRedis();
    svc = await startTestService();
  });
  afterAll(async () => svc.close());

  it('answers /healthz and carries a request id', async () => {
    const res = await fetch(`${svc.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('reports readiness from Redis', async () => {
    const res = await fetch(`${svc.url}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ready', redis: { state: true, cache: true } });
  });

  it('a process whose cache Redis is unreachable is ready but degraded, and still serves connectors uncached', async () => {
    const up = await startUpstream();
    up.route('/x', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60' });
      res.end('{"ok":1}');
    });
    const noCache = await startTestService({ env: { CACHE_REDIS_URL: `redis://127.0.0.1:${await freePort()}`, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
    try {
      const res = await fetch(`${noCache.url}/readyz`);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'degraded', redis: { state: true, cache: false } });
      await noCache.services.tenants.put('ops', { name: 'Ops', session: null, allowed_origins: [] });
      const admin = { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' };
      const created = await fetch(`${noCache.url}/admin/v1/tenants/ops/connectors`, { method: 'POST', headers: admin, body: JSON.stringify({ name: 'Cached', url: `${up.url}/x` }) });
      expect(created.status).toBe(201);
      for (let i = 0; i < 2; i++) {
        const r = await fetch(`${noCache.url}/t/ops/connectors/cached/execute`);
        expect(r.status).toBe(200);
        expect(r.headers.get('x-cache')).toBe('BYPASS');
        expect(await r.text()).toBe('{"ok":1}');
      }
      expect(up.requests).toHaveLength(2);
    } finally {
      await noCache.close();
      await up.close();
    }
  });

  it('ignores a caller-supplied request id', async () => {
    const res = await fetch(`${svc.url}/healthz`, { headers: { 'x-request-id': 'caller-chosen-id' } });
    expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers unknown routes with the admin error envelope', async () => {
    const res = await fetch(`${svc.url}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'no route GET /nope' } });
  });

  it('serves Prometheus metrics', async () => {
    const res = await fetch(`${svc.url}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('gatehouse_process_cpu_user_seconds_total');
  });
});
