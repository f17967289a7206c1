import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { startUpstream, type SeenRequest, type TestUpstream } from '../support/upstream.js';
import { CACHE_DB, ok, session, SESSION_SECRET, startApp, timing, type App } from './e2e-helpers.js';

/**
 * The cache through the real execute route: two app instances sharing one cache Redis, a real
 * upstream on 127.0.0.1, connectors created through the admin API.
 */
describe('response cache through the execute route', () => {
  let up: TestUpstream;
  let a: App;
  let b: App;
  const seen = (path: string): SeenRequest[] => up.requests.filter((r) => r.path === path);
  const connector = (name: string, def: Record<string, unknown>) => ok(a.admin('POST', '/tenants/acme/connectors', { name, method: 'GET', ...def }), `connector ${name}`);
  const cached = (status: number, headers: Record<string, string>, body: string | ((req: SeenRequest) => string)) => (req: SeenRequest, res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'text/plain', ...headers });
    res.end(typeof body === 'string' ? body : body(req));
  };

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    a = await startApp();
    b = await startApp();
    await ok(a.admin('PUT', '/tenants/acme', { name: 'Acme', session: { alg: 'HS256', secret: SESSION_SECRET }, allowed_origins: [] }), 'tenant');
    await ok(a.admin('PUT', '/tenants/acme/secrets/hdr_key', { value: 'CANARY-SECRET-HEADER-51f0' }), 'secret');
    await ok(a.admin('PUT', '/tenants/acme/secrets/query_key', { value: 'CANARY-SECRET-QUERY-8c2d' }), 'secret');
    await ok(a.admin('PUT', '/tenants/acme/secrets/jwt_key', { value: 'CANARY-SECRET-JWT-KEY-0123456789abcdef' }), 'secret');
    const u = up.url;
    await connector('cacheable', { url: `${u}/c` });
    await connector('plain', { url: `${u}/n` });
    await connector('poster', { url: `${u}/c`, method: 'POST' });
    await connector('etag', { url: `${u}/e` });
    await connector('vary', { url: `${u}/v`, headers: [{ key: 'X-Lang', value: 'en', overridable: true }] });
    await connector('per-user', { url: `${u}/u`, query_parameters: [{ key: 'uid', value: '{{ user.id }}', overridable: false }] });
    await connector('per-user-header', { url: `${u}/uh`, headers: [{ key: 'X-User', value: '{{ user.id }}', overridable: false }] });
    await connector('shared-template', { url: `${u}/s`, response_body: '{{ user.email }} got {{ response.body }} ({{ response.status_code }})' });
    await connector('updated', { url: `${u}/up` });
    await connector('slow', { url: `${u}/slow` });
    await connector('jwt-user', {
      url: `${u}/j`,
      authentication: { type: 'jwt', config: { private_key: "{{ get_secret('jwt_key') }}", algorithm: 'HS256', claims: { email: '{{ user.email }}', iss: 'gatehouse' } } },
    });
    await connector('canary', {
      url: `${u}/k`,
      headers: [{ key: 'X-Api-Key', value: "{{ get_secret('hdr_key') }}", overridable: false }],
      query_parameters: [{ key: 'uid', value: '{{ user.id }}', overridable: false }],
      authentication: { type: 'api_key', config: { key: 'api_key', value: "{{ get_secret('query_key') }}", in: 'query' } },
    });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await up?.close();
  });
  beforeEach(() => up.reset());

  it('cacheable → MISS, then HIT without an upstream request; timing headers tell which', async () => {
    up.route('/c', cached(200, { 'cache-control': 'public, max-age=60' }, 'hello'));
    const miss = await a.exec('cacheable');
    expect(miss.status).toBe(200);
    expect(miss.text).toBe('hello');
    expect(miss.headers.get('x-cache')).toBe('MISS');
    expect(timing(miss.headers).json.cache_hit).toBe(false);
    expect(timing(miss.headers).server).toContain('desc="Cache Miss"');
    const hit = await a.exec('cacheable');
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(hit.text).toBe('hello');
    const t = timing(hit.headers);
    expect(t.json.cache_hit).toBe(true);
    expect(t.json.external_ms).toBe(0);
    expect(typeof t.json.breakdown.cache_ms).toBe('number');
    expect(t.server).toContain('desc="Cache Hit"');
    expect(seen('/c')).toHaveLength(1);
  });

  it.each([
    ['no-store', { 'cache-control': 'no-store, max-age=60' }],
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['no-cache', { 'cache-control': 'no-cache, max-age=60', etag: '"n"' }],
    ['set-cookie', { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=abc' }],
  ])('%s → never stored', async (kind, headers) => {
    up.route('/n', cached(200, headers as Record<string, string>, 'x'));
    for (let i = 0; i < 3; i++) expect((await a.exec('plain', { query: `?kind=${kind}` })).headers.get('x-cache')).toBe('MISS');
    expect(seen('/n')).toHaveLength(3);
  });

  it('POST → BYPASS, never stored', async () => {
    up.route('/c', cached(200, { 'cache-control': 'public, max-age=60' }, 'posted'));
    for (let i = 0; i < 2; i++) {
      const r = await a.exec('poster', { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(r.headers.get('x-cache')).toBe('BYPASS');
      expect(timing(r.headers).json.cache_hit).toBe(false);
    }
    expect(seen('/c')).toHaveLength(2);
  });

  it('ETag only → REVALIDATED with the validator sent; external time counted', async () => {
    up.route('/e', (req, res) => {
      if (req.headers['if-none-match'] === '"v7"') {
        res.writeHead(304, { etag: '"v7"' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v7"' });
      res.end('{"v":7}');
    });
    expect((await a.exec('etag')).headers.get('x-cache')).toBe('MISS');
    const r = await b.exec('etag');
    expect(r.status).toBe(200);
    expect(r.text).toBe('{"v":7}');
    expect(r.headers.get('x-cache')).toBe('REVALIDATED');
    const t = timing(r.headers).json;
    expect(t.cache_hit).toBe(true);
    expect(t.external_ms).toBeGreaterThan(0);
    expect(seen('/e').map((q) => q.headers['if-none-match'])).toEqual([undefined, '"v7"']);
  });

  it('Vary is respected', async () => {
    up.route('/v', cached(200, { 'cache-control': 'max-age=60', vary: 'X-Lang' }, (req) => `lang ${req.headers['x-lang']}`));
    const fr = await a.exec('vary', { headers: { 'x-lang': 'fr' } });
    const de = await a.exec('vary', { headers: { 'x-lang': 'de' } });
    const fr2 = await b.exec('vary', { headers: { 'x-lang': 'fr' } });
    const en = await b.exec('vary');
    expect([fr.text, de.text, fr2.text, en.text]).toEqual(['lang fr', 'lang de', 'lang fr', 'lang en']);
    expect([fr, de, fr2, en].map((r) => r.headers.get('x-cache'))).toEqual(['MISS', 'MISS', 'HIT', 'MISS']);
    expect(seen('/v')).toHaveLength(3);
  });

  it('two users with {{ user.id }} in the query never share', async () => {
    up.route('/u', cached(200, { 'cache-control': 'public, max-age=60' }, (req) => `data of ${req.query.get('uid')}`));
    const one = await session({ sub: 'user-1' });
    const two = await session({ sub: 'user-2' });
    expect((await a.exec('per-user', { token: one })).text).toBe('data of user-1');
    const r2 = await a.exec('per-user', { token: two });
    expect(r2.text).toBe('data of user-2');
    expect(r2.headers.get('x-cache')).toBe('MISS');
    const again = await b.exec('per-user', { token: one });
    expect(again.text).toBe('data of user-1');
    expect(again.headers.get('x-cache')).toBe('HIT');
    expect(seen('/u')).toHaveLength(2);
  });

  it('two users with {{ user.id }} in a header never share', async () => {
    up.route('/uh', cached(200, { 'cache-control': 'public, max-age=60' }, (req) => `data of ${req.headers['x-user']}`));
    const one = await session({ sub: 'user-1' });
    const two = await session({ sub: 'user-2' });
    expect((await a.exec('per-user-header', { token: one })).text).toBe('data of user-1');
    expect((await a.exec('per-user-header', { token: two })).text).toBe('data of user-2');
    expect((await b.exec('per-user-header', { token: one })).headers.get('x-cache')).toBe('HIT');
    expect(seen('/uh')).toHaveLength(2);
  });

  it('JWT auth with a per-user claim: users never share, one user reuses across requests', async () => {
    up.route('/j', cached(200, { 'cache-control': 'public, max-age=60' }, (req) => `token ${String(req.headers.authorization).length > 20}`));
    const one = await session({ sub: 'u1', email: 'one@example.com' });
    const two = await session({ sub: 'u2', email: 'two@example.com' });
    await a.exec('jwt-user', { token: one });
    expect((await a.exec('jwt-user', { token: two })).headers.get('x-cache')).toBe('MISS');
    expect((await b.exec('jwt-user', { token: one })).headers.get('x-cache')).toBe('HIT');
    expect(seen('/j')).toHaveLength(2);
  });

  it('the response template runs on every hit: shared upstream bytes, per-user output', async () => {
    up.route('/s', cached(200, { 'cache-control': 'public, max-age=60' }, 'shared-bytes'));
    const one = await a.exec('shared-template', { token: await session({ sub: 'u1', email: 'one@example.com' }) });
    const two = await b.exec('shared-template', { token: await session({ sub: 'u2', email: 'two@example.com' }) });
    const anon = await b.exec('shared-template');
    expect(one.text).toBe('one@example.com got shared-bytes (200)');
    expect(two.text).toBe('two@example.com got shared-bytes (200)');
    expect(anon.text).toBe('None got shared-bytes (200)');
    expect([one, two, anon].map((r) => r.headers.get('x-cache'))).toEqual(['MISS', 'HIT', 'HIT']);
    expect(seen('/s')).toHaveLength(1);
  });

  it('a connector update invalidates its entries', async () => {
    up.route('/up', cached(200, { 'cache-control': 'public, max-age=600' }, (req) => `q=${req.query.get('x') ?? '-'}`));
    expect((await a.exec('updated')).text).toBe('q=-');
    expect((await a.exec('updated')).headers.get('x-cache')).toBe('HIT');
    await ok(a.admin('PUT', '/tenants/acme/connectors/updated', { name: 'updated', method: 'GET', url: `${up.url}/up`, query_parameters: [{ key: 'x', value: '1', overridable: false }] }), 'update');
    const after = await a.exec('updated');
    expect(after.headers.get('x-cache')).toBe('MISS');
    expect(after.text).toBe('q=1');
    // The other process sees the new revision within a second (docs/design.md#read-your-writes), and then the new entry.
    await sleep(1100);
    const other = await b.exec('updated');
    expect(other.text).toBe('q=1');
    expect(other.headers.get('x-cache')).toBe('HIT');
    expect(seen('/up')).toHaveLength(2);
  });

  it('a miss in one app instance is a hit in another sharing the cache Redis', async () => {
    up.route('/c', cached(200, { 'cache-control': 'max-age=60' }, 'shared'));
    await a.admin('DELETE', '/tenants/acme/connectors/cacheable/cache');
    expect((await a.exec('cacheable')).headers.get('x-cache')).toBe('MISS');
    const r = await b.exec('cacheable');
    expect(r.headers.get('x-cache')).toBe('HIT');
    expect(r.text).toBe('shared');
    expect(seen('/c')).toHaveLength(1);
  });

  it('50 concurrent identical misses → exactly one upstream request', async () => {
    up.route('/slow', async (_req, res) => {
      await sleep(150);
      res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'max-age=60' });
      res.end('slow answer');
    });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).exec('slow')));
    expect(seen('/slow')).toHaveLength(1);
    for (const r of results) {
      expect(r.status).toBe(200);
      expect(r.text).toBe('slow answer');
    }
    expect(results.filter((r) => r.headers.get('x-cache') === 'MISS')).toHaveLength(1);
    expect(results.filter((r) => r.headers.get('x-cache') === 'HIT')).toHaveLength(49);
  });

  it('admin purge: operator token required, then the next request is a MISS on every instance', async () => {
    up.route('/c', cached(200, { 'cache-control': 'max-age=60' }, 'p'));
    await ok(a.admin('DELETE', '/tenants/acme/connectors/cacheable/cache'), 'purge');
    await sleep(1100);
    expect((await a.exec('cacheable')).headers.get('x-cache')).toBe('MISS');
    expect((await b.exec('cacheable')).headers.get('x-cache')).toBe('HIT');
    const anon = await fetch(`${a.url}/admin/v1/tenants/acme/connectors/cacheable/cache`, { method: 'DELETE' });
    expect(anon.status).toBe(401);
    const purged = await a.admin('DELETE', '/tenants/acme/connectors/cacheable/cache');
    expect(purged.status).toBe(200);
    expect(purged.body).toMatchObject({ tenant: 'acme', permalink: 'cacheable' });
    expect(purged.body.removed).toBeGreaterThanOrEqual(1);
    expect((await a.exec('cacheable')).headers.get('x-cache')).toBe('MISS');
    // b may answer from its memory tier for at most one second.
    await sleep(1100);
    expect((await b.exec('cacheable')).headers.get('x-cache')).toBe('HIT');
    expect(seen('/c')).toHaveLength(2);
  });

  it('BYPASS when the cache is not consulted: an error before the lookup, Test Connection', async () => {
    const unknown = await a.exec('no-such-connector');
    expect(unknown.status).toBe(404);
    expect(unknown.headers.get('x-cache')).toBe('BYPASS');
    const anonymous = await a.exec('per-user');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('x-cache')).toBe('BYPASS');
    up.route('/c', cached(200, { 'cache-control': 'public, max-age=60' }, 'tested'));
    for (let i = 0; i < 2; i++) {
      const r = await a.admin('POST', '/tenants/acme/connectors/test', { permalink: 'cacheable', request: {} });
      expect(r.status).toBe(200);
      expect(r.body.body).toBe('tested');
    }
    expect(seen('/c')).toHaveLength(2);
  });

  it('counters are exported on /metrics', async () => {
    const texts = await Promise.all([a, b].map(async (app) => (await fetch(`${app.url}/metrics`)).text()));
    const value = (name: string) =>
      texts.reduce((sum, text) => {
        const m = new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\d+)`, 'm').exec(text);
        expect(m, `${name} exported`).not.toBeNull();
        return sum + Number(m![1]);
      }, 0);
    for (const name of ['gatehouse_cache_hits_total', 'gatehouse_cache_misses_total', 'gatehouse_cache_revalidated_total', 'gatehouse_cache_bypass_total', 'gatehouse_cache_stores_total', 'gatehouse_cache_store_skips_total{reason="no-store"}']) {
      expect(value(name), name).toBeGreaterThan(0);
    }
  });

  it('no injected secret, token or caller credential is written to the cache Redis', async () => {
    up.route('/k', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60', etag: '"k"', vary: 'X-Api-Key' });
      res.end(JSON.stringify({ ok: true, uid: req.query.get('uid') === null ? null : 'present' }));
    });
    const token = await session({ sub: 'CANARY-USER-ID-7a7a', email: 'canary-user@example.com' });
    const first = await a.exec('canary', { token });
    expect(first.status).toBe(200);
    expect((await b.exec('canary', { token })).headers.get('x-cache')).toBe('HIT');
    // The upstream did receive the secrets: the scan below is meaningful.
    const got = seen('/k')[0]!;
    expect(got.headers['x-api-key']).toBe('CANARY-SECRET-HEADER-51f0');
    expect(got.query.get('api_key')).toBe('CANARY-SECRET-QUERY-8c2d');
    await a.exec('jwt-user', { token });

    const redis = new Redis(testRedisUrl(CACHE_DB));
    try {
      const canaries = ['CANARY', 'canary-user@example.com', token, token.split('.')[2]!, SESSION_SECRET];
      let scanned = 0;
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) {
          const type = await redis.type(key);
          const value =
            type === 'string' ? ((await redis.getBuffer(key)) ?? Buffer.alloc(0)).toString('latin1')
            : type === 'hash' ? JSON.stringify(await redis.hgetall(key))
            : type === 'list' ? JSON.stringify(await redis.lrange(key, 0, -1))
            : type === 'set' ? JSON.stringify(await redis.smembers(key))
            : type === 'zset' ? JSON.stringify(await redis.zrange(key, 0, -1))
            : type;
          for (const c of canaries) {
            expect(key, `key ${key}`).not.toContain(c);
            expect(value, `value of ${key}`).not.toContain(c);
          }
          scanned++;
        }
      } while (cursor !== '0');
      expect(scanned).toBeGreaterThan(3);
    } finally {
      redis.disconnect();
    }
  });
});
