import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRedisClient } from '../support/redis.js';
import { startTestService, testConfig, type TestService } from '../support/service.js';
import { GitHubDouble } from '../support/github-double.js';
import { startUpstream } from '../support/upstream.js';
import { adminClient, HS256_SECRET, startAdminService } from './support.js';

describe('tenants API', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  let github: GitHubDouble;
  beforeAll(async () => {
    // Linking asks GitHub whether the branch exists: the repository the deletion tests link lives in the double.
    github = await GitHubDouble.start();
    github.createRepo('octo/registry', { private: false }).commit('main', { 'connectors_registry.json': '{"connectors": []}' });
    ({ svc, call } = await startAdminService({ GITHUB_API_URL: github.url }));
  });
  afterAll(async () => {
    await svc.close();
    await github.close();
  });

  it('PUT creates (201) then replaces (200) a tenant; the HS256 secret is never returned', async () => {
    const created = await call('PUT', '/tenants/acme', {
      name: 'Acme Inc',
      session: { alg: 'HS256', secret: HS256_SECRET },
      allowed_origins: ['https://app.acme.example', 'http://localhost:3000'],
      rate_limit_per_minute: 600,
      rate_limit_per_user_per_minute: 30,
    });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: 'acme',
      name: 'Acme Inc',
      session: { alg: 'HS256' },
      allowed_origins: ['https://app.acme.example', 'http://localhost:3000'],
      rate_limit_per_minute: 600,
      rate_limit_per_user_per_minute: 30,
      trace_propagation: true,
      created_at: expect.any(String),
      updated_at: created.body.created_at,
    });
    expect(created.text).not.toContain(HS256_SECRET);

    const updated = await call('PUT', '/tenants/acme', { name: 'Acme', session: { jwks_url: 'https://login.acme.example/.well-known/jwks.json' } });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({
      id: 'acme',
      name: 'Acme',
      session: { jwks_url: 'https://login.acme.example/.well-known/jwks.json' },
      allowed_origins: [],
      rate_limit_per_minute: null,
      rate_limit_per_user_per_minute: null,
      created_at: created.body.created_at,
    });
    expect(updated.body.updated_at >= created.body.updated_at).toBe(true);
  });

  it('GET /tenants lists every tenant as {items}, sorted by id', async () => {
    await call('PUT', '/tenants/beta', { name: 'Beta' });
    await call('PUT', '/tenants/0-first', { name: 'First', session: null });
    const list = await call('GET', '/tenants');
    expect(list.status).toBe(200);
    expect(list.body.items.map((t: { id: string }) => t.id)).toEqual(['0-first', 'acme', 'beta']);
    expect(list.body.items[0]).toEqual(expect.objectContaining({ id: '0-first', session: null, allowed_origins: [] }));
  });

  it('GET /tenants/{tenant} reads one; unknown → 404 TENANT_NOT_FOUND', async () => {
    const one = await call('GET', '/tenants/beta');
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: 'beta', name: 'Beta', session: null });
    const missing = await call('GET', '/tenants/nope');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({ error: { code: 'TENANT_NOT_FOUND', message: 'no tenant "nope"' } });
    expect((await call('GET', '/tenants/Not_Valid')).status).toBe(404);
  });

  it('keeps the stored HS256 secret when a PUT sends {alg} without secret', async () => {
    await call('PUT', '/tenants/keep', { name: 'Keep', session: { alg: 'HS256', secret: HS256_SECRET } });
    const again = await call('PUT', '/tenants/keep', { name: 'Keep 2', session: { alg: 'HS256' }, allowed_origins: ['https://x.example'] });
    expect(again.status).toBe(200);
    const tenant = await svc.services.tenants.get('keep');
    expect(tenant).toEqual({ id: 'keep', name: 'Keep 2', session: { alg: 'HS256', secret: HS256_SECRET }, allowed_origins: ['https://x.example'] });
  });

  it('requires the secret for a tenant without one', async () => {
    const res = await call('PUT', '/tenants/nosecret', { name: 'No secret', session: { alg: 'HS256' } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: [{ path: '/body/session/secret', message: 'is required' }] });
    expect((await call('GET', '/tenants/nosecret')).status).toBe(404);
  });

  it('rejects invalid tenant ids with 400 INVALID_TENANT_ID', async () => {
    for (const id of ['Acme', 'a_b', '-lead', 'a'.repeat(64), 'caf%C3%A9', 'a.b']) {
      const res = await call('PUT', `/tenants/${id}`, { name: 'x' });
      expect(res.status, id).toBe(400);
      expect(res.body.error.code, id).toBe('INVALID_TENANT_ID');
    }
    expect((await call('PUT', `/tenants/${'a'.repeat(63)}`, { name: 'longest' })).status).toBe(201);
  });

  it('validates the settings and reports every problem with its path', async () => {
    const res = await call('PUT', '/tenants/bad', {
      name: '  ',
      session: { alg: 'HS256', secret: 'short' },
      allowed_origins: ['https://ok.example', 'https://ok.example', 'https://x.example/', 'ftp://x.example', 'not a url', 'https://u:p@x.example', 'HTTPS://UPPER.example'],
      rate_limit_per_minute: 0,
      rate_limit_per_user_per_minute: 2_000_000,
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INVALID_REQUEST');
    expect(res.body.error.details.map((d: { path: string }) => d.path)).toEqual([
      '/body/name',
      '/body/session/secret',
      '/body/allowed_origins/1',
      '/body/allowed_origins/2',
      '/body/allowed_origins/3',
      '/body/allowed_origins/4',
      '/body/allowed_origins/5',
      '/body/allowed_origins/6',
      '/body/rate_limit_per_minute',
      '/body/rate_limit_per_user_per_minute',
    ]);
    expect(res.body.error.details[3].message).toContain('"https://x.example"');
    expect(res.text).not.toContain('short"');
    expect((await call('GET', '/tenants/bad')).status).toBe(404);
  });

  it('rejects wrong types and unknown fields (schema) with 400 INVALID_REQUEST', async () => {
    for (const body of [
      {},
      { name: 5 },
      { name: 'x', allowed_origins: 'https://x.example' },
      { name: 'x', allowed_origin: ['https://x.example'] },
      { name: 'x', session: { alg: 'RS256' } },
      { name: 'x', session: { alg: 'HS256', secret: HS256_SECRET, jwks_url: 'https://x.example' } },
      { name: 'x', rate_limit_per_minute: '10' },
      { name: 'x', rate_limit_per_minute: 1.5 },
      { name: 'x', rate_limit_per_user_per_minute: '10' },
    ]) {
      const res = await call('PUT', '/tenants/schema', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
    }
  });

  it('names the unknown field of a typo, so the caller need not guess', async () => {
    const res = await call('PUT', '/tenants/schema', { name: 'x', allowed_origin: ['https://x.example'] });
    expect(res.status).toBe(400);
    expect(res.body.error.details).toEqual([{ path: '/body', message: 'must NOT have additional properties: unknown field "allowed_origin"' }]);
    expect(res.body.error.message).toContain('"allowed_origin"');
  });

  it('answers malformed JSON with 400 INVALID_JSON and its position, never quoting the body', async () => {
    const res = await call('PUT', '/tenants/json', `{\n  "name": "x",\n  "session": {"alg": "HS256", "secret": ${HS256_SECRET}}\n}`, { raw: true });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_JSON', line: 3, column: 41 });
    expect(res.text).not.toContain(HS256_SECRET);
    const empty = await call('PUT', '/tenants/json', '', { raw: true });
    expect(empty.status).toBe(400);
    expect(empty.body.error).toMatchObject({ code: 'INVALID_JSON', line: 1, column: 1 });
  });

  it('checks jwks_url: https, no credentials, no private literal hosts', async () => {
    const bad = ['http://login.example/jwks', 'https://u:p@login.example/jwks', 'https://127.0.0.1/jwks', 'https://10.0.0.1/jwks', 'https://localhost/jwks', 'https://[::1]/jwks', 'nope'];
    for (const url of bad) {
      const res = await call('PUT', '/tenants/jwks', { name: 'J', session: { jwks_url: url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error.details[0].path).toBe('/body/session/jwks_url');
    }
    expect((await call('PUT', '/tenants/jwks', { name: 'J', session: { jwks_url: 'https://login.example/jwks' } })).status).toBe(201);
  });

  it('allows http and loopback jwks URLs when the operator allows them', async () => {
    const other = await startTestService({ config: testConfig({ UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' }) });
    try {
      const res = await adminClient(other.url)('PUT', '/tenants/local', { name: 'L', session: { jwks_url: 'http://127.0.0.1:9999/jwks' } });
      expect(res.status).toBe(201);
    } finally {
      await other.close();
    }
  });

  it('stores the HS256 secret encrypted only', async () => {
    const redis = testRedisClient();
    try {
      const fields = await redis.hgetall('gh:{t:keep}:tenant');
      expect(Object.keys(fields).sort()).toEqual(['created_at', 'doc', 'session_secret']);
      expect(fields.session_secret).toMatch(/^v1\.[\w-]+\.[\w-]+\.[\w-]+$/);
      expect(JSON.stringify(fields)).not.toContain(HS256_SECRET);
    } finally {
      redis.disconnect();
    }
  });

  it('TenantStore.get: the runtime view, refreshed at once after a write in this process', async () => {
    const tenants = svc.services.tenants;
    await call('PUT', '/tenants/rt', { name: 'RT', allowed_origins: ['https://a.example'] });
    expect(await tenants.get('rt')).toEqual({ id: 'rt', name: 'RT', session: undefined, allowed_origins: ['https://a.example'] });
    await call('PUT', '/tenants/rt', { name: 'RT', allowed_origins: ['https://b.example'], rate_limit_per_minute: 5, session: { alg: 'HS256', secret: HS256_SECRET } });
    expect(await tenants.get('rt')).toEqual({
      id: 'rt',
      name: 'RT',
      session: { alg: 'HS256', secret: HS256_SECRET },
      allowed_origins: ['https://b.example'],
      rate_limit_per_minute: 5,
    });
    expect(await tenants.get('unknown-tenant')).toBeUndefined();
    expect(await tenants.get('Bad Id')).toBeUndefined();
  });

  it('TenantStore.held: what get answered, without a promise, until a write drops it', async () => {
    const tenants = svc.services.tenants;
    await call('PUT', '/tenants/held', { name: 'Held', allowed_origins: ['https://a.example'] });
    expect(tenants.held('held')).toBeUndefined(); // not loaded yet: only get can tell
    const loaded = await tenants.get('held');
    expect(tenants.held('held')).toEqual({ tenant: loaded });
    expect(tenants.held('held')?.tenant).toBe(loaded);
    await call('PUT', '/tenants/held', { name: 'Held', allowed_origins: ['https://b.example'], session: { alg: 'HS256', secret: HS256_SECRET } });
    expect(tenants.held('held')).toBeUndefined();
    expect((await tenants.get('held'))?.allowed_origins).toEqual(['https://b.example']);
    expect(tenants.held('held')?.tenant?.session).toEqual({ alg: 'HS256', secret: HS256_SECRET });
    // Unknown and malformed ids: held as unknown only after get looked them up (and only briefly).
    expect(await tenants.get('held-unknown')).toBeUndefined();
    expect(tenants.held('held-unknown')).toEqual({ tenant: undefined });
    expect(tenants.held('Bad Id')).toBeUndefined();
  });

  it('TenantStore.get does not track unknown ids, and sees a tenant created later', async () => {
    const tracked = svc.services.changes.tracked;
    for (let i = 0; i < 100; i++) expect(await svc.services.tenants.get(`nobody-${i}`)).toBeUndefined();
    expect(svc.services.changes.tracked).toBe(tracked);
    await call('PUT', '/tenants/nobody-5', { name: 'Now somebody' });
    expect((await svc.services.tenants.get('nobody-5'))?.name).toBe('Now somebody');
  });

  it('TenantStore.get in another process sees a write within one second', async () => {
    const other = await startTestService({ config: svc.config });
    try {
      expect((await other.services.tenants.get('rt'))?.allowed_origins).toEqual(['https://b.example']);
      const written = Date.now();
      await call('PUT', '/tenants/rt', { name: 'RT', allowed_origins: ['https://c.example'] });
      let seenAt = 0;
      while (Date.now() - written < 2000) {
        if ((await other.services.tenants.get('rt'))?.allowed_origins[0] === 'https://c.example') {
          seenAt = Date.now();
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(seenAt).toBeGreaterThan(0);
      expect(seenAt - written).toBeLessThan(1000);
    } finally {
      await other.close();
    }
  });

  describe('DELETE /tenants/{tenant} (extension)', () => {
    it('removes the tenant with its secrets, variables, data key and connectors at once; the runtime stops serving it; the id can be reused', async () => {
      expect((await call('PUT', '/tenants/gone', { name: 'Gone', session: { alg: 'HS256', secret: HS256_SECRET } })).status).toBe(201);
      expect((await call('PUT', '/tenants/gone/secrets/api_key', { value: 'old-secret-value-123' })).status).toBe(201);
      expect((await call('PUT', '/tenants/gone/variables/region', { value: 'eu' })).status).toBe(201);
      for (const name of ['Alpha', 'Beta']) {
        expect((await call('POST', '/tenants/gone/connectors', { name, url: 'https://api.example.com/x' })).status).toBe(201);
      }
      const other = await startTestService({ config: svc.config });
      try {
        expect((await other.services.tenants.get('gone'))?.name).toBe('Gone');
        const res = await call('DELETE', '/tenants/gone');
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ tenant: 'gone', connectors: ['alpha', 'beta'] });

        expect((await call('GET', '/tenants/gone')).status).toBe(404);
        expect((await call('GET', '/tenants')).body.items.map((t: { id: string }) => t.id)).not.toContain('gone');
        expect((await call('DELETE', '/tenants/gone')).body.error.code).toBe('TENANT_NOT_FOUND');
        // this process at once, the other within a second (docs/design.md#read-your-writes)
        expect(await svc.services.tenants.get('gone')).toBeUndefined();
        const exec = await fetch(`${svc.url}/t/gone/connectors/alpha/execute`);
        expect(exec.status).toBe(404);
        expect(((await exec.json()) as { errors: { code: string } }).errors.code).toBe('CONNECTOR_NOT_FOUND');
        await expect.poll(() => other.services.tenants.get('gone'), { timeout: 1500, interval: 20 }).toBeUndefined();

        // nothing of the tenant is left in Redis but its revision counter (which keeps views honest)
        // and its audit log (docs/audit.md: the deletion is itself an entry worth keeping)
        const redis = testRedisClient();
        try {
          expect((await redis.keys('gh:{t:gone}:*')).sort()).toEqual(['gh:{t:gone}:audit', 'gh:{t:gone}:rev']);
          const audit = await redis.xrange('gh:{t:gone}:audit', '-', '+');
          expect(audit.map(([, fields]) => JSON.parse(fields[1]!) as Record<string, unknown>)).toContainEqual(expect.objectContaining({ action: 'tenant.delete', status: 200 }));
        } finally {
          redis.disconnect();
        }

        // the id can be reused: a fresh tenant, with no secrets, whose new secrets decrypt (new data key)
        expect((await call('PUT', '/tenants/gone', { name: 'Again' })).status).toBe(201);
        expect((await call('GET', '/tenants/gone/secrets')).body.items).toEqual([]);
        expect((await call('PUT', '/tenants/gone/secrets/api_key', { value: 'new-secret-value-456' })).status).toBe(201);
        const resolved = await other.services.secrets.resolve('gone', ['api_key'], []);
        expect(resolved.secrets.get('api_key')).toBe('new-secret-value-456');
      } finally {
        await other.close();
      }
    });

    it('is refused with 409 TENANT_HAS_REPOSITORIES while a repository is linked, and nothing is removed', async () => {
      expect((await call('PUT', '/tenants/linked', { name: 'Linked' })).status).toBe(201);
      expect((await call('PUT', '/tenants/linked/secrets/k', { value: 'kept-secret-value' })).status).toBe(201);
      expect((await call('PUT', '/tenants/linked/repositories/octo/registry', { branch: 'main' })).status).toBe(201);
      const res = await call('DELETE', '/tenants/linked');
      expect(res.status).toBe(409);
      expect(res.body.error.code).toBe('TENANT_HAS_REPOSITORIES');
      expect(res.body.error.message).toContain('octo/registry');
      expect(res.body.error.message).toContain('DELETE /admin/v1/tenants/linked/repositories/{owner}/{repo}');
      expect((await call('GET', '/tenants/linked')).status).toBe(200);
      expect((await call('GET', '/tenants/linked/secrets')).body.items).toHaveLength(1);
    });

    it('a tenant created under a reused id starts empty even if a write raced the deletion (left-overs are removed)', async () => {
      expect((await call('PUT', '/tenants/raced', { name: 'Raced' })).status).toBe(201);
      expect((await call('POST', '/tenants/raced/connectors', { name: 'Kept', url: 'https://api.example.com/x' })).status).toBe(201);
      expect((await call('PUT', '/tenants/raced/variables/v', { value: 'x' })).status).toBe(201);
      // what a secret write and a link write landing just after the delete would leave behind
      const redis = testRedisClient();
      try {
        const [secrets, meta, defs] = await Promise.all([redis.hgetall('gh:{t:raced}:sv'), redis.hgetall('gh:{t:raced}:cmeta'), redis.hgetall('gh:{t:raced}:cdefs')]);
        expect((await call('DELETE', '/tenants/raced')).status).toBe(200);
        await redis.hset('gh:{t:raced}:sv', secrets);
        await redis.hset('gh:{t:raced}:cmeta', meta);
        await redis.hset('gh:{t:raced}:cdefs', defs);
        await redis.hset('gh:{t:raced}:links', 'octo%2Freg', '{}');
      } finally {
        redis.disconnect();
      }
      expect((await call('PUT', '/tenants/raced', { name: 'Raced again' })).status).toBe(201);
      expect((await call('GET', '/tenants/raced/connectors')).body.items).toEqual([]);
      expect((await call('GET', '/tenants/raced/variables')).body.items).toEqual([]);
      expect((await call('GET', '/tenants/raced/repositories')).body.items).toEqual([]);
      expect((await call('DELETE', '/tenants/raced')).status).toBe(200);
    });

    it('a tenant re-created under the same id never meets the cached responses of the deleted one', async () => {
      const up = await startUpstream();
      let served = 0;
      up.route('/c', (_req, res) => {
        served++;
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
        res.end(JSON.stringify({ served }));
      });
      const web = await startTestService({ env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
      const api = adminClient(web.url);
      const setUp = async () => {
        expect((await api('PUT', '/tenants/cachet', { name: 'Cache T' })).status).toBe(201);
        expect((await api('POST', '/tenants/cachet/connectors', { name: 'C', url: `${up.url}/c` })).status).toBe(201);
      };
      const exec = async () => {
        const r = await fetch(`${web.url}/t/cachet/connectors/c/execute`);
        return { cache: r.headers.get('x-cache'), body: await r.text() };
      };
      try {
        await setUp();
        expect(await exec()).toEqual({ cache: 'MISS', body: '{"served":1}' });
        expect(await exec()).toEqual({ cache: 'HIT', body: '{"served":1}' });
        expect((await api('DELETE', '/tenants/cachet')).status).toBe(200);
        await setUp(); // same definition, so the same revision and cache key
        expect(await exec()).toEqual({ cache: 'MISS', body: '{"served":2}' });
        expect(served).toBe(2);
      } finally {
        await web.close();
        await up.close();
      }
    });

    it('an unknown or invalid tenant id is 404 TENANT_NOT_FOUND', async () => {
      expect((await call('DELETE', '/tenants/never-was')).status).toBe(404);
      expect((await call('DELETE', '/tenants/NOT_VALID')).body.error.code).toBe('TENANT_NOT_FOUND');
    });
  });
});
