import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startRuntimeTest, type Harness } from './harness.js';
import { keepRepeated, MAX_KEPT_CONNECTORS, repeatedRequest } from '../../src/runtime/repeated-request.js';
import type { CompiledRequest } from '../../src/registry/compile.js';
import type { RenderedRequest, TemplateValues } from '../../src/runtime/context.js';
import type { UpstreamClient } from '../../src/upstream/client.js';
import type { TestUpstream } from '../support/upstream.js';

// Counts the cache's hashing of requests: a request its caller repeats is hashed once per caller.
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

/** The per-user connector of the widget path: the user in the query and a header, an API key from a secret, a variable. */
function perUser(url: string): Record<string, unknown> & { name: string; url: string } {
  return {
    name: 'Profile',
    url: `${url}/echo`,
    headers: [
      { key: 'X-Email', value: '{{ user.email }}', overridable: false },
      { key: 'X-Region', value: "{{ get_variable('region') }}", overridable: false },
    ],
    query_parameters: [{ key: 'user_id', value: '{{ user.id }}', overridable: false }],
    authentication: { type: 'api_key', config: { key: 'api_key', value: "{{ get_secret('api_key') }}", in: 'query' } },
  };
}

describe('a request its caller repeats is made once per caller', () => {
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    // The upstream echoes what identifies the request (of the API key only its version: an answer
    // that echoes a secret is never stored); its answers may be cached for an hour.
    up.route('/echo', (req, res) => {
      const q = new URL(req.url!, 'http://x').searchParams;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=3600' });
      res.end(JSON.stringify({ user_id: q.get('user_id'), key_version: q.get('api_key')?.slice(-1), email: req.headers['x-email'], region: req.headers['x-region'] }));
    });
    for (const tenant of ['acme', 'beta']) {
      if (tenant === 'beta') await h.createTenant('beta');
      await h.putSecret(tenant, 'api_key', `${tenant}-key-1`);
      await h.putVariable(tenant, 'region', 'eu');
      await h.createConnector(tenant, perUser(up.url));
    }
  });

  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it('every user gets their own answer, alternating or not, and a repeat hashes nothing', async () => {
    const ann = await h.session({ sub: 'ann', email: 'ann@example.com' });
    const bob = await h.session({ sub: 'bob', email: 'bob@example.com' });
    const seen: string[] = [];
    for (const [who, token] of [['ann', ann], ['bob', bob], ['ann', ann], ['bob', bob], ['ann', ann]] as const) {
      const r = await h.exec('profile', { token });
      expect(r.status).toBe(200);
      expect(r.json).toEqual({ user_id: who, key_version: '1', email: `${who}@example.com`, region: 'eu' });
      seen.push(`${who} ${r.headers.get('x-cache')}`);
    }
    expect(seen).toEqual(['ann MISS', 'bob MISS', 'ann HIT', 'bob HIT', 'ann HIT']);
    expect(up.requests.map((r) => r.url)).toEqual(['/echo?user_id=ann&api_key=acme-key-1', '/echo?user_id=bob&api_key=acme-key-1']);

    hashed.exact = 0;
    hashed.request = 0;
    for (let i = 0; i < 3; i++) {
      for (const [who, token] of [['ann', ann], ['bob', bob]] as const) {
        const r = await h.exec('profile', { token });
        expect(r.headers.get('x-cache')).toBe('HIT');
        expect(r.json.user_id).toBe(who);
      }
    }
    expect(hashed).toEqual({ exact: 0, request: 0 });
    expect(up.requests).toHaveLength(2);
  });

  it('a changed secret or variable is sent at once: the request kept for the old values is not reused', async () => {
    const ann = await h.session({ sub: 'ann', email: 'ann@example.com' });
    const before = up.requests.length;
    await h.putSecret('acme', 'api_key', 'acme-key-2');
    const r = await h.exec('profile', { token: ann });
    expect(r.headers.get('x-cache')).toBe('MISS');
    expect(r.json).toEqual({ user_id: 'ann', key_version: '2', email: 'ann@example.com', region: 'eu' });
    expect(up.requests.at(-1)!.url).toBe('/echo?user_id=ann&api_key=acme-key-2');

    await h.putVariable('acme', 'region', 'us');
    const again = await h.exec('profile', { token: ann });
    expect(again.headers.get('x-cache')).toBe('MISS');
    expect(again.json).toEqual({ user_id: 'ann', key_version: '2', email: 'ann@example.com', region: 'us' });
    expect(up.requests).toHaveLength(before + 2);
    expect((await h.exec('profile', { token: ann })).headers.get('x-cache')).toBe('HIT');
  });

  it('the same user id in another tenant, or with another email, is another request', async () => {
    const before = up.requests.length;
    const inBeta = await h.exec('profile', { tenant: 'beta', token: await h.session({ tid: 'beta', sub: 'ann', email: 'ann@example.com' }) });
    expect(inBeta.headers.get('x-cache')).toBe('MISS');
    expect(inBeta.json).toEqual({ user_id: 'ann', key_version: '1', email: 'ann@example.com', region: 'eu' });
    // Same session user id, a value of another claim: the header differs, so does the entry.
    const other = await h.exec('profile', { token: await h.session({ sub: 'ann', email: 'ann.other@example.com' }) });
    expect(other.headers.get('x-cache')).toBe('MISS');
    expect(other.json.email).toBe('ann.other@example.com');
    expect(up.requests).toHaveLength(before + 2);
  });

  it('a call with caller input makes its own request, and the kept one stays as it was', async () => {
    const ann = await h.session({ sub: 'ann', email: 'ann@example.com' });
    const withQuery = await h.exec('profile', { token: ann, query: '?page=2' });
    expect(withQuery.headers.get('x-cache')).toBe('MISS');
    expect(new URL(up.requests.at(-1)!.url, 'http://x').searchParams.get('page')).toBe('2');
    const kept = await h.exec('profile', { token: ann });
    expect(kept.headers.get('x-cache')).toBe('HIT');
    expect(kept.json).toEqual({ user_id: 'ann', key_version: '2', email: 'ann@example.com', region: 'us' });
  });
});

describe('the kept repeated requests', () => {
  it('are bounded by connector: the first kept goes first', () => {
    const values: TemplateValues = { secrets: new Map(), variables: new Map() };
    const caller = {};
    const client = {} as UpstreamClient;
    const specs = Array.from({ length: MAX_KEPT_CONNECTORS + 1 }, () => ({}) as CompiledRequest);
    const rendered = { baseUrl: 'https://api.example/x' } as RenderedRequest;
    for (const spec of specs) keepRepeated(spec, values, caller, client, rendered);
    expect(repeatedRequest(specs[0]!, values, caller)).toBeUndefined();
    expect(repeatedRequest(specs[1]!, values, caller)?.rendered).toBe(rendered);
    expect(repeatedRequest(specs.at(-1)!, values, caller)?.rendered).toBe(rendered);
    // Kept per set of values and per caller.
    expect(repeatedRequest(specs.at(-1)!, { secrets: new Map(), variables: new Map() }, caller)).toBeUndefined();
    expect(repeatedRequest(specs.at(-1)!, values, {})).toBeUndefined();
  });
});
