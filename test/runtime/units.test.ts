import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { corsHeaders, preflightHeaders } from '../../src/runtime/cors.js';
import { compositeScope, errorEnvelope, RuntimeError } from '../../src/runtime/errors.js';
import { RateLimiter } from '../../src/runtime/rate-limit.js';
import { parsePathParamsHeader, validPathValue } from '../../src/runtime/stages/path-params.js';
import { asciiJson, externalHost, Timing } from '../../src/runtime/timing.js';
import { flushTestRedis, testRedisClient } from '../support/redis.js';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { createLogger, requestLogger } from '../../src/logger.js';
import { redact } from '../../src/runtime/redact.js';
import { applyApiKey } from '../../src/auth/outbound.js';
import { authorize } from '../../src/runtime/outgoing.js';
import type { RenderedRequest } from '../../src/runtime/context.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { testConfig } from '../support/service.js';

describe('runtime building blocks', () => {
  let redis: Redis;
  beforeAll(async () => {
    await flushTestRedis();
    redis = testRedisClient();
  });
  afterAll(() => redis.disconnect());

  it('authorize: an API key in the query replaces that parameter; the same request text reuses its parsed URL, another text gets its own', async () => {
    const client = UpstreamClient.fromConfig(testConfig({ UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' }));
    try {
      const values = { secrets: new Map([['api_key', 'k-123456']]), variables: new Map<string, string>() };
      const resolved = { type: 'api_key' as const, key: 'api_key', value: 'k-123456', in: 'query' as const };
      const applied = applyApiKey(resolved);
      const rendered = (user: string): RenderedRequest => ({
        baseUrl: 'https://api.example.com/profile',
        url: new URL(`https://api.example.com/profile?user_id=${user}&api_key=stale`),
        query: [['user_id', user], ['api_key', 'stale']],
        headers: [],
        credentialMaterial: [`q:user_id=${user}`],
        shown: undefined,
        repeated: undefined,
      });
      const a = authorize(client, rendered('u1'), values, resolved, applied);
      expect(a.url.href).toBe('https://api.example.com/profile?user_id=u1&api_key=k-123456');
      expect(a.query).toEqual([['user_id', 'u1'], ['api_key', 'k-123456']]);
      expect(a.sensitive).toContain('k-123456');
      expect(authorize(client, rendered('u1'), values, resolved, applied).url).toBe(a.url);
      const b = authorize(client, rendered('u2'), values, resolved, applied);
      expect(b.url.href).toBe('https://api.example.com/profile?user_id=u2&api_key=k-123456');
      expect(authorize(client, rendered('u1'), values, resolved, applied).url.href).toBe(a.url.href);
      // A rotated key is another applied authentication: its own URL.
      const rotated = { ...resolved, value: 'k-654321' };
      expect(authorize(client, rendered('u1'), values, rotated, applyApiKey(rotated)).url.href).toBe('https://api.example.com/profile?user_id=u1&api_key=k-654321');
    } finally {
      await client.close();
    }
  });

  it('error envelope: {success:false, errors:{code, detail, scope?, params?}, request_id}', () => {
    expect(errorEnvelope(new RuntimeError(400, 'MISSING_PATH_PARAMETERS', 'missing', undefined, ['a']), 'rid')).toEqual({
      success: false,
      errors: { code: 'MISSING_PATH_PARAMETERS', detail: 'missing', params: ['a'] },
      request_id: 'rid',
    });
    expect(compositeScope('fetch-user', 1, 'Downstream (HTTP error)')).toBe("Composite step 'fetch-user' (index 1): Downstream (HTTP error)");
  });

  it('X-Connector-Timing has request_id, total, internal and external ms, breakdown, cache_hit, external_host; total ≈ internal + external', async () => {
    const t = new Timing();
    t.endSetup();
    t.add('transform', 1.25);
    await t.measure('http', () => new Promise((r) => setTimeout(r, 20)));
    t.externalHost = 'api.example.com:8443';
    const { serverTiming, connectorTiming } = t.headers('rid', 'MISS');
    const json = JSON.parse(connectorTiming);
    expect(Object.keys(json)).toEqual(['request_id', 'total_ms', 'internal_ms', 'external_ms', 'breakdown', 'cache_hit', 'external_host']);
    expect(json.external_ms).toBeGreaterThanOrEqual(19);
    expect(json.breakdown.transform_ms).toBe(1.3);
    expect(Math.abs(json.total_ms - json.internal_ms - json.external_ms)).toBeLessThan(0.2);
    expect(serverTiming).toMatch(/^setup;dur=[\d.]+;desc="Setup", transform;dur=1\.3;desc="Template", cache;dur=0;desc="Cache Miss", external;dur=[\d.]+;desc="api\.example\.com:8443", total;dur=[\d.]+;desc="Total"$/);
    expect(JSON.parse(new Timing().headers('r', 'HIT').connectorTiming).cache_hit).toBe(true);
  });

  it("a composite's steps in the timing headers: durations to a tenth, fields in each step's order, ASCII JSON", () => {
    const t = new Timing();
    t.steps = [
      { name: 'contact', index: 0, total_ms: 12.345, external_ms: 9.96, external_host: 'api.example.com:8443', status: 200 },
      { name: 'ördérs "2"\\ \u2028', index: 1, total_ms: 0.04, external_ms: Number.NaN },
      { name: 'late', index: 2, total_ms: 1e15 + 0.26, external_ms: -3.25, status: 502 },
    ];
    t.steps[1]!.status = 404;
    t.steps[1]!.external_host = 'bücher.example';
    const r1 = (n: number) => Math.round(n * 10) / 10;
    // What the steps were written as before: a rounded copy of each step through asciiJson.
    const reference = asciiJson(t.steps.map((s) => ({ ...s, total_ms: r1(s.total_ms), external_ms: r1(s.external_ms) })));
    const { serverTiming, connectorTiming } = t.headers('rid', 'BYPASS');
    expect(connectorTiming.endsWith(`,"steps":${reference}}`)).toBe(true);
    expect(/^[\x20-\x7e]*$/.test(connectorTiming)).toBe(true);
    expect(JSON.parse(connectorTiming).steps[1]).toEqual({ name: 'ördérs "2"\\ \u2028', index: 1, total_ms: 0, external_ms: null, status: 404, external_host: 'bücher.example' });
    expect(serverTiming).toContain(', step.contact;dur=12.3;desc="Step: contact", step._rd_rs__2____;dur=0;desc="Step: ?rd?rs 2 ?", step.late;dur=1000000000000000.2;desc="Step: late"');
  });

  it('request loggers write request_id on every line (also of their children), without redacting it away', () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
        done();
      },
    });
    const root = createLogger('info', sink);
    const log = requestLogger(root, { request_id: 'rid-1' });
    log.info({ req: { headers: { authorization: 'Bearer CANARY' } } }, 'one');
    log.child({ step: 'x' }).warn('two');
    log.debug('not written');
    root.info('three');
    expect(lines.map((l) => [l.msg, l.request_id])).toEqual([['one', 'rid-1'], ['two', 'rid-1'], ['three', undefined]]);
    expect(lines[0]!.req).toEqual({ headers: { authorization: '[redacted]' } });
    expect(lines[1]!.step).toBe('x');
    // A logger from elsewhere (no mixin) gets a plain child binding.
    const other: Record<string, unknown>[] = [];
    const plain = pino({}, new Writable({ write(chunk: Buffer, _enc, done) { other.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } }));
    requestLogger(plain, { request_id: 'rid-2' }).info('four');
    expect(other[0]!.request_id).toBe('rid-2');
  });

  it('external_host carries :port only when it is not the default', () => {
    expect(externalHost(new URL('https://api.example.com:443/x'))).toBe('api.example.com');
    expect(externalHost(new URL('https://api.example.com:8443/x'))).toBe('api.example.com:8443');
    expect(externalHost(new URL('http://127.0.0.1:80/x'))).toBe('127.0.0.1');
  });

  it('header JSON is ASCII', () => {
    expect(asciiJson({ a: 'é✓' })).toBe('{"a":"\\u00e9\\u2713"}');
  });

  it('path parameter values and the X-Path-Params header', () => {
    for (const ok of ['42', 'user-42', 'USER_42', 'my.handle', 'a~b']) expect(validPathValue(ok)).toBe(true);
    for (const bad of ['', ' ', 'a/b', 'a?b', '..', '.', 'x..y', '%20', 'a#b', 'x'.repeat(201)]) expect(validPathValue(bad)).toBe(false);
    expect([...parsePathParamsHeader('user_id=42&post_slug=hello-world&user_id=43')]).toEqual([['user_id', '42'], ['post_slug', 'hello-world']]);
    expect(parsePathParamsHeader(undefined).size).toBe(0);
  });

  it('CORS: exact origin or *; nothing for others', () => {
    const tenant = { id: 't', session: undefined, allowed_origins: ['https://a.example'] };
    expect(corsHeaders(tenant, 'https://a.example')['access-control-allow-origin']).toBe('https://a.example');
    expect(corsHeaders(tenant, 'https://b.example')).toEqual({});
    expect(corsHeaders({ ...tenant, allowed_origins: ['*'] }, 'https://b.example')['access-control-allow-origin']).toBe('https://b.example');
    expect(preflightHeaders(tenant, 'https://a.example', 'x\r\ny')['access-control-allow-headers']).toBe('Authorization, Content-Type, X-Path-Params');
  });

  it('rate limiter: off without a limit; counts per tenant per minute', async () => {
    const { connectRedis } = await import('../../src/redis/connection.js');
    const { testRedisUrl } = await import('../support/redis.js');
    const client = connectRedis(testRedisUrl(), { connectionName: 'rl-test' });
    await new Promise((r) => client.once('ready', r));
    const rl = new RateLimiter(client);
    expect(await rl.check('t', undefined)).toBeUndefined();
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 2000) await new Promise((r) => setTimeout(r, msLeft + 50));
    for (let i = 0; i < 3; i++) expect(await rl.check('t', 3)).toBeUndefined();
    const retry = await rl.check('t', 3);
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(await rl.check('u', 3)).toBeUndefined();
    client.disconnect();
  });
  it('scrub removes secret values from error text, raw and percent-encoded (an API key in a query string)', () => {
    const text = `connect failed for https://api.example.com/v1?key=${encodeURIComponent('sk live/+&=key')} (value sk live/+&=key)`;
    const out = redact(text, ['sk live/+&=key']);
    expect(out).not.toContain('sk live');
    expect(out).not.toContain(encodeURIComponent('sk live/+&=key'));
    expect(out).toBe('connect failed for https://api.example.com/v1?key=********** (value **********)');
  });
});
