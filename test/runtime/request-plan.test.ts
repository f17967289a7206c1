import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { compileConnector, type CompiledSimple } from '../../src/registry/compile.js';
import type { StoredConnector } from '../../src/registry/model.js';
import { fixedRequest, requestPlan } from '../../src/runtime/request-plan.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { exactRequestHash, requestHash } from '../../src/upstream/cache/key.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { startHarness, type Harness } from './harness.js';

// Counts the cache's hashing of requests: a fixed request must hash nothing once its plan exists.
const hashed = vi.hoisted(() => ({ exact: 0, request: 0 }));
vi.mock('../../src/upstream/cache/key.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../../src/upstream/cache/key.js')>();
  return {
    ...original,
    exactRequestHash: (...args: Parameters<typeof original.exactRequestHash>) => {
      hashed.exact++;
      return original.exactRequestHash(...args);
    },
    requestHash: (...args: Parameters<typeof original.requestHash>) => {
      hashed.request++;
      return original.requestHash(...args);
    },
  };
});

function stored(definition: Record<string, unknown>): StoredConnector {
  return { tenant: 'acme', kind: 'connector', revision: 'rev-1', definition } as unknown as StoredConnector;
}

const client = new UpstreamClient({ allowHttp: true } as never);

describe('the per-connector request plan', () => {
  it('holds the merged static headers (lower-cased), the encoded static query, the URL pieces and the bound auth', () => {
    const compiled = compileConnector(
      stored({
        name: 'Weather',
        permalink: 'weather',
        url: 'https://api.example/v1/{{ user.id }}/weather',
        method: 'GET',
        headers: [
          { key: 'Accept', value: 'application/json', overridable: false },
          { key: 'X-Lang', value: 'en', overridable: true },
          { key: 'X-User', value: '{{ user.email }}', overridable: false },
        ],
        query_parameters: [
          { key: 'location', value: 'New York', overridable: false },
          { key: 'user id', value: '{{ user.id }}', overridable: false },
          { key: 'units', value: 'metric', overridable: true },
        ],
        authentication: { type: 'api_key', config: { key: 'api_key', value: "{{ get_secret('api_key') }}", in: 'query' } },
      }),
    ) as CompiledSimple;
    const plan = requestPlan(compiled);
    expect(requestPlan(compiled)).toBe(plan);
    // Only the literal, non-overridable header is the same on every request.
    expect(plan.staticHeaders).toEqual({ accept: 'application/json' });
    expect(plan.overridableHeaders).toEqual(['x-lang']);
    expect(plan.query.map((q) => (q.param === undefined ? { constant: q.encoded } : { templated: q.encodedKey, source: q.param.template.source }))).toEqual([
      { constant: 'location=New%20York' },
      { templated: 'user%20id=', source: '{{ user.id }}' },
      { constant: 'units=metric' },
    ]);
    expect(plan.auth.type).toBe('api_key');
    expect(plan.auth.type === 'api_key' && { key: plan.auth.key, in: plan.auth.in, value: plan.auth.value.source }).toEqual({ key: 'api_key', in: 'query', value: "{{ get_secret('api_key') }}" });
    expect(plan.rendersAsync).toBe(false);
    // Every declared value from its configuration: what a call that overrides nothing gets.
    expect(plan.defaults.query.map((q) => q.key)).toEqual(['location', 'user id', 'units']);
    expect(plan.defaults.headers.map((h) => h.key)).toEqual(['Accept', 'X-Lang', 'X-User']);
    expect(plan.defaults.ignored).toEqual([]);
    // A user-dependent URL and an API key from a secret: never one fixed request.
    expect(plan.fixable).toBe(false);
    expect(fixedRequest(compiled, plan, client, undefined, compiled)).toBeUndefined();
  });

  it('a request without per-request input is made once: URL parsed, headers lower-cased, cache keys hashed', () => {
    const compiled = compileConnector(
      stored({
        name: 'Static',
        permalink: 'static',
        url: 'http://127.0.0.1:9/v1/static',
        method: 'GET',
        headers: [{ key: 'Accept', value: 'application/json', overridable: false }],
        query_parameters: [{ key: 'location', value: 'New York', overridable: false }],
        authentication: { type: 'none' },
      }),
    ) as CompiledSimple;
    const plan = requestPlan(compiled);
    expect(plan.fixable).toBe(true);
    const keysFor = vi.fn((scope: { tenant: string; permalink: string; revision: string }, request?: { method: string; url: string; headers: Readonly<Record<string, string>> }, credentials: readonly string[] = []) => ({
      prefix: `p:${scope.tenant}/${scope.permalink}`,
      exact: exactRequestHash(scope, request!, credentials, request!.headers),
      request: requestHash(scope, request!, credentials),
    }));
    const cache = { keysFor, fetch: vi.fn() };
    const fixed = fixedRequest(compiled, plan, client, cache, compiled)!;
    expect(fixed.rendered.url.href).toBe('http://127.0.0.1:9/v1/static?location=New%20York');
    expect(fixed.authorized.headers).toEqual([['Accept', 'application/json']]);
    expect(fixed.cacheRequest).toEqual({ method: 'GET', url: 'http://127.0.0.1:9/v1/static?location=New%20York', headers: { accept: 'application/json' }, body: undefined });
    const scope = { tenant: 'acme', permalink: 'static', revision: 'rev-1' };
    expect(fixed.cacheKeys).toEqual({
      prefix: 'p:acme/static',
      exact: exactRequestHash(scope, fixed.cacheRequest, [], { accept: 'application/json' }),
      request: requestHash(scope, fixed.cacheRequest, []),
    });
    // Asked again with the same client and cache: the same object, nothing computed again.
    expect(fixedRequest(compiled, plan, client, cache, compiled)).toBe(fixed);
    expect(keysFor).toHaveBeenCalledTimes(1);
    // Another client (its own scheme rule) gets its own.
    expect(fixedRequest(compiled, plan, new UpstreamClient({ allowHttp: true } as never), cache, compiled)).not.toBe(fixed);
  });

  it('a literal URL the upstream client refuses is never fixed (the request path answers with the refusal)', () => {
    const compiled = compileConnector(stored({ name: 'Plain', permalink: 'plain', url: 'http://127.0.0.1:9/x', method: 'GET', headers: [], query_parameters: [], authentication: { type: 'none' } })) as CompiledSimple;
    const plan = requestPlan(compiled);
    expect(fixedRequest(compiled, plan, new UpstreamClient({ allowHttp: false } as never), undefined, compiled)).toBeUndefined();
    expect(plan.fixable).toBe(false);
  });
});

describe('the request path reads the plan', () => {
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    up.route('/static', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end('{"ok":true}');
    });
    h = await startHarness();
    await h.createTenant('acme');
    await h.createConnector('acme', {
      name: 'Static',
      url: `${up.url}/static`,
      headers: [
        { key: 'Accept', value: 'application/json', overridable: false },
        { key: 'X-Lang', value: 'en', overridable: true },
      ],
      query_parameters: [{ key: 'location', value: 'New York', overridable: false }],
    });
  });

  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it('a fully static request reuses its precomputed cache key: no hash on the request path', async () => {
    const first = await h.exec('static');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const seen = up.requests.at(-1)!;
    expect(seen.url).toBe('/static?location=New%20York');
    expect(seen.headers.accept).toBe('application/json');
    expect(seen.headers['x-lang']).toBe('en');

    hashed.exact = 0;
    hashed.request = 0;
    for (let i = 0; i < 5; i++) {
      const r = await h.exec('static');
      expect(r.status).toBe(200);
      expect(r.headers.get('x-cache')).toBe('HIT');
      expect(r.json).toEqual({ ok: true });
    }
    expect(hashed).toEqual({ exact: 0, request: 0 });
    expect(up.requests).toHaveLength(1);

    // The same plan's key is the one the cache computes: a request that must be hashed (it sends an
    // overridable header with the configured value) finds the same entry.
    const same = await h.exec('static', { headers: { 'x-lang': 'en' } });
    expect(same.headers.get('x-cache')).toBe('HIT');
    expect(hashed.exact).toBeGreaterThan(0);
    expect(up.requests).toHaveLength(1);

    // Caller input makes its own request: hashed, and a different entry.
    const other = await h.exec('static', { query: '?page=2' });
    expect(other.headers.get('x-cache')).toBe('MISS');
    expect(up.requests.at(-1)!.url).toBe('/static?location=New%20York&page=2');
  });

  it('the plan belongs to the connector revision: an update is planned and cached anew', async () => {
    const before = (await runtimeFor(h.services).connectors.get('acme', 'static'))!.compiled as CompiledSimple;
    const planBefore = requestPlan(before);
    const r = await h.admin('PUT', '/tenants/acme/connectors/static', {
      name: 'Static',
      url: `${up.url}/static`,
      headers: [{ key: 'Accept', value: 'application/json', overridable: false }],
      query_parameters: [{ key: 'location', value: 'Paris', overridable: false }],
    });
    expect(r.status).toBeLessThan(300);
    const answer = await h.exec('static');
    const after = (await runtimeFor(h.services).connectors.get('acme', 'static'))!.compiled as CompiledSimple;
    expect(after).not.toBe(before);
    expect(answer.headers.get('x-cache')).toBe('MISS');
    expect(up.requests.at(-1)!.url).toBe('/static?location=Paris');
    expect(requestPlan(after)).not.toBe(planBefore);
    expect(requestPlan(after).fixed?.cacheRequest.url).toBe(`${up.url}/static?location=Paris`);
  });
});
