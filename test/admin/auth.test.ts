import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFingerprint } from '../../src/http/admin/auth.js';
import { flushTestRedis } from '../support/redis.js';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { adminClient, startCapturedService, type CapturedService } from './support.js';

describe('admin authentication and audit log', () => {
  let svc: CapturedService;
  beforeAll(async () => {
    await flushTestRedis();
    svc = await startCapturedService({ level: 'info' });
  });
  afterAll(async () => svc.close());

  const get = (headers: Record<string, string>) => fetch(`${svc.url}/admin/v1/tenants`, { headers });

  it('answers 401 without a token, with the admin error shape', async () => {
    const res = await get({});
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('Bearer') } });
  });

  it('answers 401 for a malformed Authorization header', async () => {
    for (const value of ['Basic abc', 'Bearer', 'Bearer a b', TEST_ADMIN_TOKEN]) {
      const res = await get({ authorization: value });
      expect(res.status, value).toBe(401);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
    }
  });

  it('answers 403 for a wrong token of any length', async () => {
    for (const token of ['x', `${TEST_ADMIN_TOKEN}x`, TEST_ADMIN_TOKEN.slice(0, -1), 'a'.repeat(500)]) {
      const res = await get({ authorization: `Bearer ${token}` });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ error: { code: 'FORBIDDEN', message: 'the operator token is not valid' } });
    }
  });

  it('accepts the operator token (scheme case-insensitive)', async () => {
    expect((await get({ authorization: `Bearer ${TEST_ADMIN_TOKEN}` })).status).toBe(200);
    expect((await get({ authorization: `bearer ${TEST_ADMIN_TOKEN}` })).status).toBe(200);
  });

  it('guards every admin route, the OpenAPI document included', async () => {
    for (const [method, path] of [
      ['GET', '/openapi.json'],
      ['PUT', '/tenants/acme'],
      ['PUT', '/tenants/acme/secrets/k'],
      ['DELETE', '/tenants/acme/variables/k'],
      ['POST', '/tenants/acme/connectors'],
      ['GET', '/tenants/acme/connectors/x'],
    ] as const) {
      const res = await fetch(`${svc.url}/admin/v1${path}`, { method, headers: { authorization: 'Bearer wrong-token' } });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
  });

  it('logs every write with who and what, never the token or a value', async () => {
    const call = adminClient(svc.url);
    const value = 'audit-canary-value-7f3a9c';
    expect((await call('PUT', '/tenants/audit', { name: 'Audit' })).status).toBe(201);
    expect((await call('PUT', '/tenants/audit/secrets/api_token', { value })).status).toBe(201);
    expect((await call('DELETE', '/tenants/audit/secrets/api_token')).status).toBe(204);
    await fetch(`${svc.url}/admin/v1/tenants/audit/secrets/other`, {
      method: 'PUT',
      headers: { authorization: 'Bearer not-the-token', 'content-type': 'application/json' },
      body: JSON.stringify({ value }),
    });
    await call('GET', '/tenants/audit/secrets');

    const audits = svc.logs.records().filter((r) => r.msg === 'admin write' && r.audit.tenant === 'audit').map((r) => r.audit);
    const actor = tokenFingerprint(TEST_ADMIN_TOKEN);
    expect(actor).toMatch(/^tok:[0-9a-f]{12}$/);
    expect(audits).toEqual([
      { actor, method: 'PUT', route: '/admin/v1/tenants/:tenant', tenant: 'audit', status: 201 },
      { actor, method: 'PUT', route: '/admin/v1/tenants/:tenant/secrets/:name', tenant: 'audit', name: 'api_token', status: 201 },
      { actor, method: 'DELETE', route: '/admin/v1/tenants/:tenant/secrets/:name', tenant: 'audit', name: 'api_token', status: 204 },
      { actor: 'unauthenticated', method: 'PUT', route: '/admin/v1/tenants/:tenant/secrets/:name', tenant: 'audit', name: 'other', status: 403 },
    ]);
    expect(svc.logs.text).not.toContain(value);
    expect(svc.logs.text).not.toContain(TEST_ADMIN_TOKEN);
  });
});
