import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { UpstreamClient } from '../../src/upstream/client.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { answer, cacheInstance, cacheKeys, counter, dumpRedis, fetchVia, upstreamClient, type CacheInstance, type FetchOptions } from './helpers.js';

/**
 * The cache module against a real HTTP upstream on 127.0.0.1, the real upstream client and the real
 * test Redis: one test per rule of docs/design.md#http-cache, plus the single-flight and isolation guarantees.
 */
describe('response cache module', () => {
  let upstream: TestUpstream;
  let client: UpstreamClient;
  let a: CacheInstance;
  let b: CacheInstance;
  const get = (inst: CacheInstance, o: FetchOptions) => fetchVia(inst.cache, client, upstream.url, o);
  const hits = (path: string) => upstream.requests.filter((r) => r.path === path).length;

  beforeAll(async () => {
    await flushTestRedis();
    upstream = await startUpstream();
    client = upstreamClient();
    a = await cacheInstance();
    b = await cacheInstance();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await client.close();
    await upstream.close();
  });
  beforeEach(async () => {
    upstream.reset();
    await flushTestRedis();
  });

  it('cacheable → MISS then HIT without an upstream request, raw bytes and headers kept', async () => {
    const body = Buffer.from([0x7b, 0x22, 0x62, 0x22, 0x3a, 0xff, 0x00, 0x7d]); // not UTF-8: stored binary-safe
    upstream.route('/c', answer(200, { 'cache-control': 'public, max-age=60', 'x-upstream': 'yes' }, body));
    const first = await get(a, { path: '/c' });
    expect(first.xCache).toBe('MISS');
    expect(first.upstreamMs).toBeGreaterThan(0);
    const second = await get(a, { path: '/c' });
    expect(second.xCache).toBe('HIT');
    expect(second.upstreamMs).toBe(0);
    expect(second.response.status).toBe(200);
    expect(Buffer.compare(second.response.body, body)).toBe(0);
    expect(second.response.headers['x-upstream']).toBe('yes');
    expect(second.response.headers['cache-control']).toBe('public, max-age=60');
    expect(Number(second.response.headers.age)).toBeGreaterThanOrEqual(0);
    expect(hits('/c')).toBe(1);
    const ttl = await a.redis.pttl((await cacheKeys()).find((k) => k.includes(':e:'))!);
    expect(ttl).toBeGreaterThan(55_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await counter(a.metrics, 'gatehouse_cache_hits_total')).toBeGreaterThanOrEqual(1);
  });

  it.each([
    ['no-store', { 'cache-control': 'no-store, max-age=60' }],
    ['private', { 'cache-control': 'private, max-age=60' }],
    ['no-cache', { 'cache-control': 'no-cache, max-age=60', etag: '"v1"' }],
    ['set-cookie', { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=CANARY-COOKIE; HttpOnly' }],
    ['no-freshness', {}],
    ['status', { 'cache-control': 'max-age=60' }, 404],
  ] as [string, Record<string, string>, number?][])('%s → never stored, every request reaches the upstream', async (reason, headers, status = 200) => {
    upstream.route('/n', answer(status, headers));
    const before = await counter(a.metrics, 'gatehouse_cache_store_skips_total', { reason });
    for (let i = 0; i < 3; i++) {
      const r = await get(a, { path: '/n' });
      expect(r.xCache).toBe('MISS');
      expect(r.skipped).toBe(reason);
    }
    expect(hits('/n')).toBe(3);
    expect((await cacheKeys()).filter((k) => k.includes(':e:') || k.includes(':v:'))).toEqual([]);
    expect(await counter(a.metrics, 'gatehouse_cache_store_skips_total', { reason })).toBe(before + 3);
  });

  it('POST (and other methods) bypass the cache entirely', async () => {
    upstream.route('/p', answer(200, { 'cache-control': 'public, max-age=60' }));
    for (let i = 0; i < 2; i++) {
      const r = await get(a, { path: '/p', method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
      expect(r.xCache).toBe('BYPASS');
      expect(r.cacheMs).toBe(0);
    }
    expect(hits('/p')).toBe(2);
    expect(await cacheKeys()).toEqual([]);
  });

  it('ETag only → REVALIDATED: If-None-Match sent, 304 serves the stored body', async () => {
    let version = 0;
    upstream.route('/e', (req, res) => {
      if (req.headers['if-none-match'] === '"v1"') {
        res.writeHead(304, { etag: '"v1"' });
        res.end();
        return;
      }
      version++;
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' });
      res.end(JSON.stringify({ version }));
    });
    expect((await get(a, { path: '/e' })).xCache).toBe('MISS');
    const r = await get(a, { path: '/e' });
    expect(r.xCache).toBe('REVALIDATED');
    expect(r.upstreamMs).toBeGreaterThan(0);
    expect(r.response.status).toBe(200);
    expect(JSON.parse(r.response.body.toString())).toEqual({ version: 1 });
    expect(upstream.requests.map((q) => q.headers['if-none-match'])).toEqual([undefined, '"v1"']);
    expect(await counter(a.metrics, 'gatehouse_cache_revalidated_total')).toBe(1);
    // Another process revalidates the same shared entry.
    expect((await get(b, { path: '/e' })).xCache).toBe('REVALIDATED');
  });

  it('Last-Modified only → If-Modified-Since; a changed resource (200) replaces the entry', async () => {
    const lm = 'Wed, 21 Oct 2015 07:28:00 GMT';
    let changed = false;
    upstream.route('/lm', (req, res) => {
      if (!changed && req.headers['if-modified-since'] === lm) {
        res.writeHead(304, {});
        res.end();
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain', 'last-modified': changed ? 'Thu, 22 Oct 2015 07:28:00 GMT' : lm });
      res.end(changed ? 'new' : 'old');
    });
    await get(a, { path: '/lm' });
    const r1 = await get(a, { path: '/lm' });
    expect(r1.xCache).toBe('REVALIDATED');
    expect(r1.response.body.toString()).toBe('old');
    expect(upstream.requests[1]!.headers['if-modified-since']).toBe(lm);
    changed = true;
    const r2 = await get(a, { path: '/lm' });
    expect(r2.xCache).toBe('MISS');
    expect(r2.response.body.toString()).toBe('new');
    expect(upstream.requests[2]!.headers['if-modified-since']).toBe(lm);
    // The new entry carries the new validator.
    await get(a, { path: '/lm' });
    expect(upstream.requests[3]!.headers['if-modified-since']).toBe('Thu, 22 Oct 2015 07:28:00 GMT');
  });

  it('a 304 that adds max-age makes the entry fresh (RFC 9111 §3.2 header update)', async () => {
    upstream.route('/e2', (req, res) => {
      if (req.headers['if-none-match'] === '"a"') {
        res.writeHead(304, { etag: '"a"', 'cache-control': 'max-age=60' });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"a"' });
      res.end('body');
    });
    await get(a, { path: '/e2' });
    expect((await get(a, { path: '/e2' })).xCache).toBe('REVALIDATED');
    const r = await get(a, { path: '/e2' });
    expect(r.xCache).toBe('HIT');
    expect(r.response.headers['cache-control']).toBe('max-age=60');
    expect(hits('/e2')).toBe(2);
  });

  it('a 304 that now says no-store serves the body once and drops the entry', async () => {
    let phase = 0;
    upstream.route('/e3', (req, res) => {
      if (req.headers['if-none-match'] === '"a"') {
        res.writeHead(304, { etag: '"a"', 'cache-control': 'no-store' });
        res.end();
        return;
      }
      phase++;
      res.writeHead(200, { etag: '"a"' });
      res.end(`body${phase}`);
    });
    await get(a, { path: '/e3' });
    const r = await get(a, { path: '/e3' });
    expect(r.xCache).toBe('REVALIDATED');
    expect(r.response.body.toString()).toBe('body1');
    await sleep(20);
    expect((await cacheKeys()).filter((k) => k.includes(':e:'))).toEqual([]);
    expect((await get(a, { path: '/e3' })).xCache).toBe('MISS');
  });

  it('freshness ends: max-age=1 without validator is a MISS after a second', async () => {
    upstream.route('/short', answer(200, { 'cache-control': 'max-age=1' }));
    await get(a, { path: '/short' });
    expect((await get(a, { path: '/short' })).xCache).toBe('HIT');
    await sleep(1100);
    expect((await get(a, { path: '/short' })).xCache).toBe('MISS');
    expect(hits('/short')).toBe(2);
  });

  it('must-revalidate: HIT while fresh, revalidated once stale', async () => {
    upstream.route('/mr', (req, res) => {
      if (req.headers['if-none-match'] === '"m"') {
        res.writeHead(304, { etag: '"m"' });
        res.end();
        return;
      }
      res.writeHead(200, { etag: '"m"', 'cache-control': 'max-age=1, must-revalidate' });
      res.end('x');
    });
    await get(a, { path: '/mr' });
    expect((await get(a, { path: '/mr' })).xCache).toBe('HIT');
    await sleep(1100);
    expect((await get(a, { path: '/mr' })).xCache).toBe('REVALIDATED');
  });

  it('Vary is respected: one variant per value of the named request header', async () => {
    upstream.route('/v', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language', 'content-type': 'text/plain' });
      res.end(`lang=${req.headers['accept-language'] ?? '-'}`);
    });
    const fr = await get(a, { path: '/v', headers: { 'accept-language': 'fr' } });
    const de = await get(a, { path: '/v', headers: { 'accept-language': 'de' } });
    expect([fr.xCache, de.xCache]).toEqual(['MISS', 'MISS']);
    const fr2 = await get(b, { path: '/v', headers: { 'accept-language': 'fr' } });
    const de2 = await get(a, { path: '/v', headers: { 'accept-language': 'de' } });
    const none = await get(a, { path: '/v' });
    expect([fr2.xCache, de2.xCache, none.xCache]).toEqual(['HIT', 'HIT', 'MISS']);
    expect(fr2.response.body.toString()).toBe('lang=fr');
    expect(de2.response.body.toString()).toBe('lang=de');
    expect(none.response.body.toString()).toBe('lang=-');
    expect(hits('/v')).toBe(3);
    // A header not named by Vary does not split the entry.
    expect((await get(a, { path: '/v', headers: { 'accept-language': 'fr', 'x-other': '1' } })).xCache).toBe('HIT');
  });

  it('different credentials or users never share; same ones do', async () => {
    upstream.route('/u', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(`for ${req.headers.authorization}`);
    });
    const alice = { headers: { authorization: 'Bearer alice' }, credentials: ['Bearer alice'] };
    const bob = { headers: { authorization: 'Bearer bob' }, credentials: ['Bearer bob'] };
    expect((await get(a, { path: '/u', ...alice })).xCache).toBe('MISS');
    const r = await get(a, { path: '/u', ...bob });
    expect(r.xCache).toBe('MISS');
    expect(r.response.body.toString()).toBe('for Bearer bob');
    const r2 = await get(b, { path: '/u', ...alice });
    expect(r2.xCache).toBe('HIT');
    expect(r2.response.body.toString()).toBe('for Bearer alice');
    // Per-user query (as `{{ user.id }}` renders it): the resolved URL differs.
    upstream.route('/q', (req, res) => {
      res.writeHead(200, { 'cache-control': 'max-age=60', 'content-type': 'text/plain' });
      res.end(`user ${req.query.get('user')}`);
    });
    await get(a, { path: '/q?user=1' });
    const two = await get(a, { path: '/q?user=2' });
    expect(two.xCache).toBe('MISS');
    expect(two.response.body.toString()).toBe('user 2');
    expect((await get(a, { path: '/q?user=1' })).response.body.toString()).toBe('user 1');
  });

  it('tenant, connector and revision each have their own entries', async () => {
    upstream.route('/s', answer(200, { 'cache-control': 'max-age=60' }));
    await get(a, { path: '/s' });
    expect((await get(a, { path: '/s', scope: { tenant: 'other' } })).xCache).toBe('MISS');
    expect((await get(a, { path: '/s', scope: { permalink: 'other' } })).xCache).toBe('MISS');
    expect((await get(a, { path: '/s', scope: { revision: 'rev-2' } })).xCache).toBe('MISS');
    expect((await get(a, { path: '/s' })).xCache).toBe('HIT');
    expect(hits('/s')).toBe(4);
  });

  it('HEAD is cached apart from GET; 301 and 308 are cached, 302 is not', async () => {
    upstream.route('/h', answer(200, { 'cache-control': 'max-age=60' }));
    expect((await get(a, { path: '/h', method: 'HEAD' })).xCache).toBe('MISS');
    expect((await get(a, { path: '/h', method: 'HEAD' })).xCache).toBe('HIT');
    expect((await get(a, { path: '/h' })).xCache).toBe('MISS');
    for (const [status, expected] of [[301, 'HIT'], [308, 'HIT'], [302, 'MISS']] as const) {
      upstream.route(`/r${status}`, answer(status, { location: 'https://example.invalid/next', 'cache-control': 'max-age=60' }, ''));
      await get(a, { path: `/r${status}` });
      const r = await get(a, { path: `/r${status}` });
      expect(r.xCache).toBe(expected);
      expect(r.response.status).toBe(status);
      expect(r.response.headers.location).toBe('https://example.invalid/next');
    }
  });

  it('a miss in one process is a hit in another sharing the cache Redis', async () => {
    upstream.route('/x', answer(200, { 'cache-control': 'max-age=60' }));
    expect((await get(a, { path: '/x' })).xCache).toBe('MISS');
    expect((await get(b, { path: '/x' })).xCache).toBe('HIT');
    expect(hits('/x')).toBe(1);
  });

  it('50 concurrent identical misses in one process → one upstream request', async () => {
    upstream.route('/slow', async (_req, res) => {
      await sleep(100);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end('{"n":1}');
    });
    const results = await Promise.all(Array.from({ length: 50 }, () => get(a, { path: '/slow' })));
    expect(hits('/slow')).toBe(1);
    expect(results.filter((r) => r.xCache === 'MISS')).toHaveLength(1);
    expect(results.filter((r) => r.xCache === 'HIT')).toHaveLength(49);
    for (const r of results) expect(r.response.body.toString()).toBe('{"n":1}');
  });

  it('concurrent identical misses in two processes → one upstream request (Redis lock)', async () => {
    upstream.route('/slow2', async (_req, res) => {
      await sleep(150);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end('{"n":2}');
    });
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => get(i % 2 === 0 ? a : b, { path: '/slow2' })));
    expect(hits('/slow2')).toBe(1);
    expect(results.filter((r) => r.xCache === 'MISS')).toHaveLength(1);
    for (const r of results) expect(r.response.body.toString()).toBe('{"n":2}');
  });

  it('concurrent misses with different Vary-relevant headers are not merged', async () => {
    upstream.route('/vs', async (req, res) => {
      await sleep(50);
      res.writeHead(200, { 'cache-control': 'max-age=60', vary: 'accept-language' });
      res.end(String(req.headers['accept-language']));
    });
    const [fr, de] = await Promise.all([
      get(a, { path: '/vs', headers: { 'accept-language': 'fr' } }),
      get(a, { path: '/vs', headers: { 'accept-language': 'de' } }),
    ]);
    expect(fr.response.body.toString()).toBe('fr');
    expect(de.response.body.toString()).toBe('de');
  });

  it('after an unstorable answer identical requests skip the Redis lookup briefly; one that turns cacheable is stored at once', async () => {
    const own = await cacheInstance();
    try {
      let cacheable = false;
      upstream.route('/turns', (_req, res) => {
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheable ? 'public, max-age=60' : 'no-store' });
        res.end('{"v":1}');
      });
      const lookups = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await own.redis.info('commandstats'))?.[1] ?? 0);
      expect((await get(own, { path: '/turns' })).skipped).toBe('no-store');
      const before = await lookups();
      for (let i = 0; i < 3; i++) expect((await get(own, { path: '/turns' })).xCache).toBe('MISS');
      expect(await lookups()).toBe(before);
      expect(hits('/turns')).toBe(4);
      // Another process is not affected by what this one remembers: it looks up (and finds the shared pass marker).
      expect((await get(b, { path: '/turns' })).xCache).toBe('MISS');
      expect(await lookups()).toBe(before + 1);

      cacheable = true;
      const stored = await get(own, { path: '/turns' });
      expect(stored.xCache).toBe('MISS');
      expect(stored.skipped).toBeUndefined();
      expect((await get(own, { path: '/turns' })).xCache).toBe('HIT');
      expect((await get(a, { path: '/turns' })).xCache).toBe('HIT');
      // b saw the unstorable answer too: for up to a second it still asks the upstream (a MISS is always correct).
      expect((await get(b, { path: '/turns' })).xCache).toBe('MISS');
      expect((await get(b, { path: '/turns' })).xCache).toBe('HIT');
      expect(hits('/turns')).toBe(7);
    } finally {
      await own.close();
    }
  });

  it('a purge while a pass is remembered: the entry stored afterwards is current', async () => {
    let cacheable = false;
    upstream.route('/turns2', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': cacheable ? 'public, max-age=60' : 'no-store' });
      res.end('{"v":2}');
    });
    expect((await get(a, { path: '/turns2' })).skipped).toBe('no-store');
    await a.cache.purge('acme', 'weather');
    await a.cache.purge('acme', 'weather');
    cacheable = true;
    expect((await get(a, { path: '/turns2' })).xCache).toBe('MISS');
    expect((await get(b, { path: '/turns2' })).xCache).toBe('HIT');
  });

  it('concurrent uncacheable requests each get their own upstream answer', async () => {
    let n = 0;
    upstream.route('/priv', async (_req, res) => {
      const mine = ++n;
      await sleep(50);
      res.writeHead(200, { 'cache-control': 'private, max-age=60' });
      res.end(`answer ${mine}`);
    });
    const results = await Promise.all(Array.from({ length: 5 }, () => get(a, { path: '/priv' })));
    expect(hits('/priv')).toBe(5);
    expect(new Set(results.map((r) => r.response.body.toString())).size).toBe(5);
    // The pass marker now lets the next burst go straight to the upstream, concurrently.
    const t0 = Date.now();
    await Promise.all(Array.from({ length: 5 }, () => get(b, { path: '/priv' })));
    expect(Date.now() - t0).toBeLessThan(250);
    expect(hits('/priv')).toBe(10);
  });

  it('a follower whose wait expires calls the upstream itself', async () => {
    const impatient = await cacheInstance({ maxWaitMs: 50 });
    try {
      upstream.route('/very-slow', async (_req, res) => {
        await sleep(400);
        res.writeHead(200, { 'cache-control': 'max-age=60' });
        res.end('late');
      });
      const leader = get(a, { path: '/very-slow' });
      await sleep(30);
      const follower = await get(impatient, { path: '/very-slow' });
      expect(follower.xCache).toBe('MISS');
      expect((await leader).xCache).toBe('MISS');
      expect(hits('/very-slow')).toBe(2);
    } finally {
      await impatient.close();
    }
  });

  it('upstream failures reach the caller and are not cached', async () => {
    const dead = UpstreamClient.fromConfig((await import('../support/service.js')).testConfig({ UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' }));
    try {
      await expect(fetchVia(a.cache, dead, 'http://127.0.0.1:1', { path: '/down' })).rejects.toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
      expect((await cacheKeys()).filter((k) => k.includes(':l:'))).toEqual([]);
    } finally {
      await dead.close();
    }
  });

  it('entries over 1 MiB are not stored', async () => {
    upstream.route('/big', answer(200, { 'cache-control': 'max-age=60' }, Buffer.alloc(1024 * 1024 + 1, 0x61)));
    upstream.route('/fits', answer(200, { 'cache-control': 'max-age=60' }, Buffer.alloc(1024 * 1024, 0x61)));
    expect((await get(a, { path: '/big' })).skipped).toBe('too-large');
    expect((await get(a, { path: '/big' })).xCache).toBe('MISS');
    await get(a, { path: '/fits' });
    const r = await get(a, { path: '/fits' });
    expect(r.xCache).toBe('HIT');
    expect(r.response.body.length).toBe(1024 * 1024);
  });

  it('a response echoing a secret is not stored', async () => {
    upstream.route('/echo', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=60' });
      res.end(JSON.stringify({ seen: req.headers['x-api-key'] }));
    });
    const o = { path: '/echo', headers: { 'x-api-key': 'CANARY-ECHO-1234' }, credentials: ['CANARY-ECHO-1234'], sensitive: ['CANARY-ECHO-1234'] };
    expect((await get(a, o)).skipped).toBe('echoes-credential');
    expect((await get(a, o)).xCache).toBe('MISS');
  });

  it('purge removes one connector’s entries on every process, and nothing else', async () => {
    upstream.route('/pg', answer(200, { 'cache-control': 'max-age=60' }));
    await get(a, { path: '/pg' });
    await get(a, { path: '/pg', scope: { permalink: 'other' } });
    const result = await a.cache.purge('acme', 'weather');
    expect(result).toEqual({ generation: 1, removed: 1 });
    expect((await get(b, { path: '/pg' })).xCache).toBe('MISS');
    expect((await get(b, { path: '/pg', scope: { permalink: 'other' } })).xCache).toBe('HIT');
    expect((await get(a, { path: '/pg' })).xCache).toBe('HIT');
  });

  it('a store in flight during a purge does not resurrect purged data', async () => {
    upstream.route('/race', async (_req, res) => {
      await sleep(100);
      res.writeHead(200, { 'cache-control': 'max-age=60' });
      res.end('old');
    });
    const pending = get(a, { path: '/race' });
    await sleep(30);
    await b.cache.purge('acme', 'weather');
    expect((await pending).xCache).toBe('MISS');
    // The entry written after the purge carries the old generation: unusable.
    expect((await get(b, { path: '/race' })).xCache).toBe('MISS');
  });

  it('with the cache Redis unreachable, requests go straight upstream (BYPASS)', async () => {
    const down = await cacheInstance();
    try {
      down.redis.disconnect();
      upstream.route('/d', answer(200, { 'cache-control': 'max-age=60' }));
      const r = await get(down, { path: '/d' });
      expect(r.xCache).toBe('BYPASS');
      expect(r.response.status).toBe(200);
    } finally {
      await down.close();
    }
  });

  it('memory tier: repeated hits skip Redis; a purge elsewhere reaches this process within a second', async () => {
    upstream.route('/mem', answer(200, { 'cache-control': 'max-age=60' }, 'm1'));
    await get(a, { path: '/mem' });
    const before = await counter(b.metrics, 'gatehouse_cache_memory_hits_total');
    expect((await get(b, { path: '/mem' })).xCache).toBe('HIT'); // from Redis, now remembered
    const fromMemory = await get(b, { path: '/mem' });
    expect(fromMemory.xCache).toBe('HIT');
    expect(fromMemory.response.body.toString()).toBe('m1');
    expect(await counter(b.metrics, 'gatehouse_cache_memory_hits_total')).toBe(before + 1);
    await a.cache.purge('acme', 'weather');
    expect((await get(a, { path: '/mem' })).xCache).toBe('MISS'); // the purging process: at once
    await sleep(1050);
    upstream.route('/mem', answer(200, { 'cache-control': 'max-age=60' }, 'm2'));
    await a.cache.purge('acme', 'weather');
    const r = await get(b, { path: '/mem' });
    expect(r.xCache).toBe('MISS');
    expect(r.response.body.toString()).toBe('m2');
  });

  it('fetchOrKept: an answer from the memory tier comes without a promise, anything else as fetch answers it', async () => {
    upstream.route('/kept', answer(200, { 'cache-control': 'max-age=60', 'x-upstream': 'kept' }, 'kept-body'));
    const input = (path: string) => ({
      scope: { tenant: 'acme', permalink: 'weather', revision: 'rev-1' },
      request: { method: 'GET', url: `${upstream.url}${path}`, headers: {} },
      credentials: [],
      doFetch: (conditional: Record<string, string>) => client.send({ url: new URL(`${upstream.url}${path}`), method: 'GET', headers: conditional }),
    });
    const miss = b.cache.fetchOrKept(input('/kept'));
    expect(miss).toBeInstanceOf(Promise);
    expect((await miss).xCache).toBe('MISS');
    const kept = b.cache.fetchOrKept(input('/kept'));
    expect(kept).not.toBeInstanceOf(Promise);
    const hit = kept as Awaited<typeof kept>;
    expect(hit.xCache).toBe('HIT');
    expect(hit.upstreamMs).toBe(0);
    expect(hit.response.status).toBe(200);
    expect(hit.response.body.toString()).toBe('kept-body');
    expect(hit.response.headers['x-upstream']).toBe('kept');
    expect(hit.response.headers.age).toMatch(/^\d+$/);
    // The same answer fetch gives, and each answer owns its headers.
    const viaFetch = await b.cache.fetch(input('/kept'));
    expect(viaFetch.xCache).toBe('HIT');
    expect(viaFetch.response.body.toString()).toBe('kept-body');
    expect(viaFetch.response.headers).not.toBe(hit.response.headers);
    expect(hits('/kept')).toBe(1);
    // A purge drops the kept answer at once: the next call goes past memory again.
    await b.cache.purge('acme', 'weather');
    const after = b.cache.fetchOrKept(input('/kept'));
    expect(after).toBeInstanceOf(Promise);
    expect((await after).xCache).toBe('MISS');
    // Another method never comes from memory.
    const post = b.cache.fetchOrKept({ ...input('/kept'), request: { method: 'POST', url: `${upstream.url}/kept`, headers: {} } });
    expect(post).toBeInstanceOf(Promise);
    expect((await post).xCache).toBe('BYPASS');
  });

  it('memory tier: when an entry expires, concurrent hits make one Redis lookup (no stampede)', async () => {
    upstream.route('/herd', answer(200, { 'cache-control': 'max-age=60' }, 'herd'));
    await get(a, { path: '/herd' });
    const own = await cacheInstance();
    try {
      const mgets = async () => Number(/cmdstat_mget:calls=(\d+)/.exec(await own.redis.info('commandstats'))?.[1] ?? 0);
      // Nothing in this process's memory yet: the same path as an expired entry.
      let before = await mgets();
      const first = await Promise.all(Array.from({ length: 50 }, () => get(own, { path: '/herd' })));
      expect(first.map((r) => r.xCache)).toEqual(Array(50).fill('HIT'));
      expect(first.every((r) => r.response.body.toString() === 'herd')).toBe(true);
      expect(await mgets()).toBe(before + 1);
      // Served from memory now: no command at all.
      before = await mgets();
      await Promise.all(Array.from({ length: 50 }, () => get(own, { path: '/herd' })));
      expect(await mgets()).toBe(before);
      // After the memory tier's second: again one lookup for all of them.
      await sleep(1050);
      before = await mgets();
      const again = await Promise.all(Array.from({ length: 50 }, () => get(own, { path: '/herd' })));
      expect(again.map((r) => r.xCache)).toEqual(Array(50).fill('HIT'));
      expect(await mgets()).toBe(before + 1);
      expect(hits('/herd')).toBe(1);
    } finally {
      await own.close();
    }
  });

  it('memory tier never outlives freshness, and keeps per-request identity (headers included)', async () => {
    upstream.route('/mf', answer(200, { 'cache-control': 'max-age=1' }, 'short'));
    await get(a, { path: '/mf' });
    expect((await get(a, { path: '/mf', headers: { 'x-extra': '1' } })).xCache).toBe('HIT'); // Redis, not Vary-split
    await sleep(1050);
    expect((await get(a, { path: '/mf' })).xCache).toBe('MISS');
  });

  it('nothing secret reaches the cache Redis: keys and values scanned for canaries', async () => {
    upstream.route('/k', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=60', vary: 'Authorization, X-Api-Key', etag: '"e"' });
      res.end('{"data":"public"}');
    });
    const headers = { authorization: 'Bearer CANARY-TOKEN-9f8e7d', 'x-api-key': 'CANARY-HEADER-1a2b3c', 'x-user': 'CANARY-USER-EMAIL@example.com' };
    const o = {
      path: '/k?api_key=CANARY-QUERY-5d6e7f&q=1',
      headers,
      credentials: Object.values(headers).concat('CANARY-QUERY-5d6e7f'),
      sensitive: ['CANARY-TOKEN-9f8e7d', 'CANARY-HEADER-1a2b3c', 'CANARY-QUERY-5d6e7f'],
    };
    await get(a, o);
    expect((await get(b, o)).xCache).toBe('HIT');
    const all = await dumpRedis();
    expect(all.length).toBeGreaterThan(0);
    for (const { key, value } of all) {
      expect(key).not.toMatch(/CANARY|api_key/i);
      expect(value.toString('latin1')).not.toMatch(/CANARY|api_key/i);
    }
  });
});
