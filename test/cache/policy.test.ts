import { describe, expect, it } from 'vitest';
import {
  evaluateStorable,
  normalizeHeaders,
  parseCacheControl,
  policyResponseHeaders,
  quickSkip,
  sanitizedRequest,
  storableHeaders,
  varyFields,
} from '../../src/upstream/cache/policy.js';
import { connectorPattern, connectorPrefix, exactRequestHash, requestHash, variantKey } from '../../src/upstream/cache/key.js';

const reqId = 'a'.repeat(64);
const verdict = (status: number, headers: Record<string, string>, requestHeaders: Record<string, string> = {}, method = 'GET') =>
  evaluateStorable(method, reqId, requestHeaders, status, headers);

describe('cache policy (docs/design.md#http-cache)', () => {
  it('parses Cache-Control, including quoted arguments with commas', () => {
    const cc = parseCacheControl('Public, MAX-AGE=60, no-cache="set-cookie, x-foo", s-maxage = 30');
    expect(cc.get('public')).toBe(true);
    expect(cc.get('max-age')).toBe('60');
    expect(cc.get('no-cache')).toBe('set-cookie, x-foo');
    expect(cc.get('s-maxage')).toBe('30');
    expect(parseCacheControl(undefined).size).toBe(0);
  });

  it('stores explicit freshness: max-age, s-maxage, Expires', () => {
    const a = verdict(200, { 'cache-control': 'public, max-age=3600' });
    expect(a.storable && a.ttlMs).toBeGreaterThan(3_590_000);
    const b = verdict(200, { 'cache-control': 's-maxage=120, max-age=5' });
    expect(b.storable && b.ttlMs).toBeGreaterThan(110_000);
    const expires = new Date(Date.now() + 600_000).toUTCString();
    const c = verdict(200, { expires, date: new Date().toUTCString() });
    expect(c.storable && c.ttlMs).toBeGreaterThan(590_000);
  });

  it('stores a response with only a validator (ETag or Last-Modified), with zero freshness', () => {
    const e = verdict(200, { etag: '"123456789"' });
    expect(e).toMatchObject({ storable: true, validator: true, ttlMs: 0 });
    const l = verdict(200, { 'last-modified': new Date(Date.now() - 86_400_000 * 365).toUTCString() });
    // No heuristic freshness even though Last-Modified is a year old.
    expect(l).toMatchObject({ storable: true, validator: true, ttlMs: 0 });
  });

  it('never uses heuristic freshness: a bare 200 is not stored', () => {
    expect(verdict(200, {})).toEqual({ storable: false, reason: 'no-freshness' });
    expect(verdict(200, { 'cache-control': 'public' })).toEqual({ storable: false, reason: 'no-freshness' });
    expect(verdict(200, { 'cache-control': 'immutable' })).toEqual({ storable: false, reason: 'no-freshness' });
    expect(verdict(200, { expires: 'Thu, 01 Dec 1994 16:00:00 GMT' })).toEqual({ storable: false, reason: 'no-freshness' });
  });

  it('refuses no-store, no-cache (also Pragma), private, Set-Cookie, Vary: *', () => {
    expect(verdict(200, { 'cache-control': 'no-store, max-age=60' })).toEqual({ storable: false, reason: 'no-store' });
    expect(verdict(200, { 'cache-control': 'no-cache, max-age=60', etag: '"x"' })).toEqual({ storable: false, reason: 'no-cache' });
    expect(verdict(200, { 'cache-control': 'no-cache="set-cookie", max-age=60' })).toEqual({ storable: false, reason: 'no-cache' });
    expect(verdict(200, { pragma: 'no-cache', etag: '"x"' })).toEqual({ storable: false, reason: 'no-cache' });
    expect(verdict(200, { 'cache-control': 'private, max-age=60' })).toEqual({ storable: false, reason: 'private' });
    expect(verdict(200, { 'cache-control': 'private="x-user", max-age=60' })).toEqual({ storable: false, reason: 'private' });
    expect(verdict(200, { 'cache-control': 'public, max-age=60', 'set-cookie': 'sid=1' })).toEqual({ storable: false, reason: 'set-cookie' });
    expect(verdict(200, { 'cache-control': 'max-age=60', vary: 'Accept, *' })).toEqual({ storable: false, reason: 'vary-star' });
  });

  it('only 200, 301 and 308', () => {
    for (const status of [200, 301, 308]) expect(verdict(status, { 'cache-control': 'max-age=60' }).storable).toBe(true);
    for (const status of [203, 204, 206, 302, 304, 307, 404, 410, 500]) {
      expect(verdict(status, { 'cache-control': 'max-age=60' })).toEqual({ storable: false, reason: 'status' });
    }
  });

  it('honours a configured request Cache-Control: no-store', () => {
    expect(verdict(200, { 'cache-control': 'max-age=60' }, { 'cache-control': 'no-store' })).toEqual({ storable: false, reason: 'request-no-store' });
  });

  it('keeps must-revalidate responses usable while fresh (the library would always revalidate)', () => {
    expect(policyResponseHeaders({ 'cache-control': 'max-age=60, must-revalidate' })).toEqual({ 'cache-control': 'max-age=60' });
    expect(policyResponseHeaders({ 'cache-control': 'proxy-revalidate' })).toEqual({});
    const v = verdict(200, { 'cache-control': 'max-age=60, must-revalidate' });
    expect(v.storable && v.policy.satisfiesWithoutRevalidation(sanitizedRequest('GET', reqId, {}, []))).toBe(true);
    const p = verdict(200, { 'cache-control': 'max-age=60, proxy-revalidate' });
    expect(p.storable && p.ttlMs).toBeGreaterThan(50_000);
  });

  it('gives the policy no credential: opaque URL, Vary-named values hashed, no Authorization', () => {
    const headers = { authorization: 'Bearer tok-SECRET', 'accept-language': 'fr', 'x-api-key': 'key-SECRET' };
    const v = verdict(200, { 'cache-control': 'max-age=60', vary: 'Accept-Language, X-Api-Key, Authorization' }, headers);
    expect(v.storable).toBe(true);
    if (!v.storable) return;
    const text = JSON.stringify(v.policy.toObject());
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('fr"');
    expect(v.policy.toObject().u).toBe(`/${reqId}`);
    expect(v.vary).toEqual(['accept-language', 'authorization', 'x-api-key']);
    // Same values → the policy accepts the request; another value → it does not.
    expect(v.policy.satisfiesWithoutRevalidation(sanitizedRequest('GET', reqId, headers, v.vary))).toBe(true);
    expect(v.policy.satisfiesWithoutRevalidation(sanitizedRequest('GET', reqId, { ...headers, 'accept-language': 'de' }, v.vary))).toBe(false);
  });

  it('strips hop-by-hop and credential-setting response fields before storing', () => {
    const h = normalizeHeaders({ 'Content-Type': 'application/json', Connection: 'x-hop', 'X-Hop': '1', 'Keep-Alive': 'timeout=5', 'WWW-Thing': ['a', 'b'], 'proxy-authenticate': 'Basic' });
    expect(storableHeaders(h)).toEqual({ 'content-type': 'application/json', 'www-thing': 'a, b' });
  });

  it('decides an unstorable answer from its headers as received exactly as the full evaluation does', () => {
    const responses: Record<string, string | string[] | undefined>[] = [
      { 'cache-control': 'no-store' },
      { 'cache-control': 'No-Store, max-age=60' },
      { 'cache-control': 'public, max-age=60, no-cache' },
      { 'cache-control': 'max-age=60, private' },
      { 'cache-control': 'private="x", no-store' },
      { 'cache-control': 'no-cache="set-cookie, no-store"' },
      { 'cache-control': 'max-age=60', 'set-cookie': 'a=b' },
      { 'cache-control': 'public, max-age=60' },
      { 'cache-control': ['max-age=60', 'no-store'] },
      { 'cache-control': 'x="unclosed', 'Cache-Control': 'no-store' },
      { 'Cache-Control': 'max-age=60', 'cache-control': 'no-store' },
      { 'Set-Cookie': 'a=b', 'cache-control': 'max-age=60, private' },
      { 'Set-Cookie': 'a=b', 'cache-control': 'max-age=60' },
      { pragma: 'no-cache' },
      { etag: '"1"' },
      {},
    ];
    const requests: Record<string, string>[] = [{}, { 'cache-control': 'no-store' }, { 'cache-control': 'max-age=0' }];
    let decided = 0;
    for (const status of [200, 301, 404, 500]) {
      for (const raw of responses) {
        for (const req of requests) {
          const full = evaluateStorable('GET', reqId, req, status, normalizeHeaders(raw));
          const quick = quickSkip(req, status, raw);
          if (quick === undefined) continue;
          decided++;
          expect(full).toEqual({ storable: false, reason: quick });
        }
      }
    }
    // What a no-store upstream and an error status are decided by.
    expect(quickSkip({}, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' })).toBe('no-store');
    expect(quickSkip({}, 502, { 'cache-control': 'public, max-age=60' })).toBe('status');
    expect(quickSkip({}, 200, { 'cache-control': 'public, max-age=60' })).toBeUndefined();
    expect(decided).toBeGreaterThan(30);
    // The same text again is decided alike (verdicts are kept per Cache-Control text).
    expect(quickSkip({}, 200, { 'cache-control': 'max-age=60, private' })).toBe('private');
    expect(quickSkip({}, 200, { 'cache-control': 'max-age=60, private', 'CACHE-CONTROL': 'no-store' })).toBeUndefined();
  });

  it('lists Vary fields sorted and lower-cased', () => {
    expect(varyFields('Accept-Language,  accept , X-A')).toEqual(['accept', 'accept-language', 'x-a']);
    expect(varyFields(undefined)).toEqual([]);
    expect(varyFields('*')).toEqual(['*']);
  });
});

describe('cache keys (docs/cache.md#cache-key-who-shares-an-entry)', () => {
  const scope = { tenant: 'acme', permalink: 'weather', revision: 'r1' };
  const req = { method: 'GET', url: 'https://api.example.com/x?q=1', headers: {} };

  it('clusters a connector under one hash tag and escapes what could break it', () => {
    expect(connectorPrefix('acme', 'weather')).toBe('gh:cache:{gc:acme/weather}:');
    expect(connectorPrefix('a}b{c*', 'p')).toBe('gh:cache:{gc:a%7Db%7Bc%2A/p}:');
    expect(connectorPattern('gh:cache:{gc:a[b]?/p}:')).toBe('gh:cache:{gc:a\\[b\\]\\?/p}:*');
  });

  it('changes with revision, method, URL (query included), body and credentials', () => {
    const base = requestHash(scope, req, ['k1']);
    expect(requestHash(scope, req, ['k1'])).toBe(base);
    expect(requestHash({ ...scope, revision: 'r2' }, req, ['k1'])).not.toBe(base);
    expect(requestHash(scope, { ...req, method: 'HEAD' }, ['k1'])).not.toBe(base);
    expect(requestHash(scope, { ...req, url: 'https://api.example.com/x?q=2' }, ['k1'])).not.toBe(base);
    expect(requestHash(scope, { ...req, body: 'x' }, ['k1'])).not.toBe(base);
    expect(requestHash(scope, req, ['k2'])).not.toBe(base);
    expect(requestHash(scope, req, [])).not.toBe(base);
    // Length prefixes: moving a boundary changes the hash.
    expect(requestHash(scope, req, ['ab', 'c'])).not.toBe(requestHash(scope, req, ['a', 'bc']));
  });

  it('separates Vary variants, telling an absent header from an empty one', () => {
    const p = connectorPrefix('acme', 'weather');
    const a = variantKey(p, 'h', ['accept-language'], { 'accept-language': 'fr' });
    expect(variantKey(p, 'h', ['accept-language'], { 'accept-language': 'fr' })).toBe(a);
    expect(variantKey(p, 'h', ['accept-language'], { 'accept-language': 'de' })).not.toBe(a);
    expect(variantKey(p, 'h', ['accept-language'], {})).not.toBe(variantKey(p, 'h', ['accept-language'], { 'accept-language': '' }));
  });

  it('the exact request hash separates every part, Buffer bodies from strings, and lone surrogates', () => {
    const base = exactRequestHash(scope, req, ['k1'], { accept: 'a', 'x-b': 'b' });
    expect(exactRequestHash(scope, req, ['k1'], { 'x-b': 'b', accept: 'a' })).toBe(base); // header order does not matter
    expect(exactRequestHash({ ...scope, tenant: 'acme2' }, req, ['k1'], { accept: 'a', 'x-b': 'b' })).not.toBe(base);
    expect(exactRequestHash(scope, req, ['k1'], { accept: 'a', 'x-b': 'c' })).not.toBe(base);
    expect(exactRequestHash(scope, req, ['k1'], { accept: 'a' })).not.toBe(base);
    expect(exactRequestHash(scope, req, ['ab', 'c'], {})).not.toBe(exactRequestHash(scope, req, ['a', 'bc'], {}));
    expect(exactRequestHash(scope, req, [], { a: 'bc' })).not.toBe(exactRequestHash(scope, req, [], { ab: 'c' }));
    expect(exactRequestHash({ ...scope, tenant: 'a', permalink: 'bc' }, req, [], {})).not.toBe(exactRequestHash({ ...scope, tenant: 'ab', permalink: 'c' }, req, [], {}));
    expect(exactRequestHash(scope, { ...req, body: Buffer.from('x') }, [], {})).not.toBe(exactRequestHash(scope, { ...req, body: 'x' }, [], {}));
    expect(exactRequestHash(scope, { ...req, body: Buffer.from('eA==') }, [], {})).not.toBe(exactRequestHash(scope, { ...req, body: 'beA==' }, [], {}));
    // Both lone surrogates are U+FFFD once UTF-8 encoded: the hash still tells them apart.
    expect(exactRequestHash(scope, req, ['\ud800'], {})).not.toBe(exactRequestHash(scope, req, ['\udc00'], {}));
  });

  it('never puts a credential in a key in clear', () => {
    const h = requestHash(scope, { ...req, url: 'https://api.example.com/x?api_key=CANARY-KEY' }, ['Bearer CANARY-TOKEN']);
    const keys = [connectorPrefix('acme', 'weather') + h, exactRequestHash(scope, req, ['Bearer CANARY-TOKEN'], { authorization: 'Bearer CANARY-TOKEN' })];
    for (const k of keys) expect(k).not.toMatch(/CANARY/);
  });
});
