import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, type TestService } from '../support/service.js';

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
