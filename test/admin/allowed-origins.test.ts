import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../runtime/harness.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * What `allowed_origins` takes, end to end: exact origins, or `["*"]` alone for every origin (the
 * API accepts what the runtime and the docs describe). Answers echo the caller's origin.
 */
describe('allowed_origins', () => {
  let h: Harness;
  let up: TestUpstream;
  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    h = await startHarness();
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  const call = (tenant: string, origin: string) => h.exec('items', { tenant, headers: { origin } });

  it('["*"] is accepted and lets every origin read answers (origin echoed, Vary: Origin)', async () => {
    await h.createTenant('open', { allowed_origins: ['*'] });
    expect((await h.admin('GET', '/tenants/open')).body.allowed_origins).toEqual(['*']);
    await h.createConnector('open', { name: 'Items', permalink: 'items', url: `${up.url}/items` });
    for (const origin of ['https://a.example', 'http://127.0.0.2:5173']) {
      const r = await call('open', origin);
      expect(r.status).toBe(200);
      expect(r.headers.get('access-control-allow-origin')).toBe(origin);
      expect(r.headers.get('vary')).toMatch(/Origin/);
    }
    const preflight = await fetch(`${h.url}/t/open/connectors/items/execute`, { method: 'OPTIONS', headers: { origin: 'https://b.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization' } });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://b.example');
  });

  it('exact origins only: another origin gets no CORS headers; [] allows none', async () => {
    await h.createTenant('strict', { allowed_origins: ['https://app.strict.example'] });
    await h.createConnector('strict', { name: 'Items', permalink: 'items', url: `${up.url}/items` });
    expect((await call('strict', 'https://app.strict.example')).headers.get('access-control-allow-origin')).toBe('https://app.strict.example');
    expect((await call('strict', 'https://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    await h.createTenant('closed', { allowed_origins: [] });
    await h.createConnector('closed', { name: 'Items', permalink: 'items', url: `${up.url}/items` });
    expect((await call('closed', 'https://app.strict.example')).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('"*" next to exact origins, or inside an origin, is refused with a message saying what to write', async () => {
    const mixed = await h.admin('PUT', '/tenants/mixed', { name: 'Mixed', allowed_origins: ['https://a.example', '*'] });
    expect(mixed.status).toBe(400);
    expect(mixed.body.error.details).toEqual([{ path: '/body/allowed_origins/1', message: '"*" allows every origin: list it alone, or list exact origins without it' }]);
    const wildcard = await h.admin('PUT', '/tenants/mixed', { name: 'Mixed', allowed_origins: ['https://*.example.com'] });
    expect(wildcard.status).toBe(400);
    expect(wildcard.body.error.details).toEqual([{ path: '/body/allowed_origins/0', message: '"https://*.example.com": wildcards inside an origin are not supported; list each origin, or use "*" alone for every origin' }]);
  });
});
