import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { compactVerify, decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../src/config.js';
import { OutboundAuth, type ResolvedAuth } from '../../src/auth/outbound.js';
import { TokenCache } from '../../src/auth/token-cache.js';
import { JWT_ALGORITHMS, type JwtAlgorithm } from '../../src/registry/model.js';
import { connectRedis } from '../../src/redis/connection.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { createUpstreamDispatcher } from '../../src/upstream/dispatcher.js';
import { createAddressGuard } from '../../src/upstream/guard.js';
import { startOAuthServer, type TestOAuthServer } from '../support/oauth-server.js';
import { flushTestRedis, testRedisClient, testRedisUrl } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const masterKey = randomBytes(32);

function makeClient(timeoutMs = 3000): UpstreamClient {
  const guard = createAddressGuard(parseCidrList('127.0.0.0/8', []));
  return new UpstreamClient({ timeoutMs, allowHttp: true, guard, dispatcher: createUpstreamDispatcher({ guard, extraCa: undefined, timeoutMs }) });
}

/** One "process": its own Redis connection, token cache and HTTP client. */
function makeInstance(timeoutMs = 3000) {
  const redis = connectRedis(testRedisUrl(), { connectionName: 'test' });
  const client = makeClient(timeoutMs);
  const auth = new OutboundAuth(client, new TokenCache(redis, masterKey, { lockMs: timeoutMs + 1000 }));
  return { redis, client, auth, async close() { await client.close(); redis.disconnect(); } };
}

function keyFor(alg: JwtAlgorithm): { priv: string; verify: () => Promise<Parameters<typeof compactVerify>[1]> } {
  if (alg.startsWith('HS')) {
    const secret = randomBytes(64).toString('base64url');
    return { priv: secret, verify: async () => new TextEncoder().encode(secret) };
  }
  const pair =
    alg.startsWith('RS') || alg.startsWith('PS')
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : alg === 'EdDSA'
        ? generateKeyPairSync('ed25519')
        : generateKeyPairSync('ec', { namedCurve: alg === 'ES256' ? 'P-256' : alg === 'ES384' ? 'P-384' : 'P-521' });
  const priv = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pub = pair.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  return { priv, verify: () => importSPKI(pub, alg) };
}

describe('outbound authentication', () => {
  let oauth: TestOAuthServer;
  let upstream: TestUpstream;
  let a: ReturnType<typeof makeInstance>;
  let b: ReturnType<typeof makeInstance>;
  let plain: Redis;
  const now = () => Math.floor(Date.now() / 1000);

  beforeAll(async () => {
    await flushTestRedis();
    oauth = await startOAuthServer();
    upstream = await startUpstream();
    oauth.addClient({ id: 'svc', secret: 's3cr3t-client-secret', grants: ['client_credentials'] });
    a = makeInstance();
    b = makeInstance();
    plain = testRedisClient();
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    plain.disconnect();
    await oauth.close();
    await upstream.close();
  });
  beforeEach(async () => {
    await plain.flushall();
    oauth.tokenRequests.length = 0;
    oauth.setTokenDelay(0);
  });

  const cc = (over: Partial<Extract<ResolvedAuth, { type: 'oauth_client_credentials' }>> = {}): ResolvedAuth => ({
    type: 'oauth_client_credentials',
    client_id: 'svc',
    client_secret: 's3cr3t-client-secret',
    token_url: oauth.tokenUrl,
    scope: 'read write',
    ...over,
  });

  it('api_key in header sets exactly one header; in query appends key=value', async () => {
    const h = await a.auth.apply('t1', { type: 'api_key', key: 'X-API-Key', value: 'sk-1&2', in: 'header' }, now());
    expect(h.headers).toEqual([['X-API-Key', 'sk-1&2']]);
    expect(h.query).toEqual([]);
    const q = await a.auth.apply('t1', { type: 'api_key', key: 'key', value: 'sk 1', in: 'query' }, now());
    expect(q.query).toEqual([['key', 'sk 1']]);
    expect(q.headers).toEqual([]);
  });

  it('oauth_client_credentials: form POST with grant_type, client_id, client_secret, scope; Bearer token works at the resource', async () => {
    const applied = await a.auth.apply('t1', cc(), now());
    expect(oauth.tokenRequests).toEqual([{ grant_type: 'client_credentials', client_id: 'svc', client_secret: 's3cr3t-client-secret', scope: 'read write' }]);
    const [name, value] = applied.headers[0]!;
    expect(name).toBe('Authorization');
    const res = await fetch(oauth.resourceUrl, { headers: { authorization: value } });
    expect(res.status).toBe(200);
    expect(applied.token?.fromCache).toBe(false);
  });

  it('oauth_client_credentials: no exchange while cached; TTL is expires_in − 60; the token is encrypted in Redis', async () => {
    const first = await a.auth.apply('t1', cc(), now());
    const second = await b.auth.apply('t1', cc(), now());
    expect(oauth.tokenRequests).toHaveLength(1);
    expect(second.headers).toEqual(first.headers);
    expect(second.token?.fromCache).toBe(true);
    const keys = await plain.keys('gh:{t:t1}:token:*');
    expect(keys).toHaveLength(1);
    const ttl = await plain.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(3600 - 60 - 5);
    expect(ttl).toBeLessThanOrEqual(3600 - 60);
    const raw = await plain.get(keys[0]!);
    const token = first.headers[0]![1].slice('Bearer '.length);
    expect(raw).not.toContain(token);
    expect(keys[0]).not.toContain('s3cr3t');
  });

  it('oauth_client_credentials: a different scope, secret or tenant is a separate sign-in', async () => {
    await a.auth.apply('t1', cc(), now());
    await a.auth.apply('t1', cc({ scope: 'read' }), now());
    await a.auth.apply('t2', cc(), now());
    expect(oauth.tokenRequests).toHaveLength(3);
    expect(oauth.tokenRequests[1]!.scope).toBe('read');
  });

  it('oauth_client_credentials: without scope no scope field is sent', async () => {
    await a.auth.apply('t1', cc({ scope: '' }), now());
    expect(oauth.tokenRequests[0]).toEqual({ grant_type: 'client_credentials', client_id: 'svc', client_secret: 's3cr3t-client-secret' });
  });

  it('20 concurrent first calls make exactly one token request, also split across two processes sharing Redis', async () => {
    oauth.setTokenDelay(150);
    const calls = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).auth.apply('t1', cc(), now()));
    const results = await Promise.all(calls);
    expect(oauth.tokenRequests).toHaveLength(1);
    expect(new Set(results.map((r) => r.headers[0]![1])).size).toBe(1);
  });

  it('a missing expires_in keeps the token 300 s', async () => {
    upstream.route('/token-no-expiry', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ access_token: 'tok-no-exp', token_type: 'Bearer' }));
    });
    await a.auth.apply('t1', cc({ token_url: `${upstream.url}/token-no-expiry` }), now());
    const keys = await plain.keys('gh:{t:t1}:token:*');
    const ttl = await plain.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(290);
    expect(ttl).toBeLessThanOrEqual(300);
  });

  it('a token endpoint error is 502 TOKEN_REQUEST_FAILED with scope Authentication (token request), naming no secret', async () => {
    const err = await a.auth.apply('t1', cc({ client_secret: 'wrong-secret-value' }), now()).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'TOKEN_REQUEST_FAILED', scope: 'Authentication (token request)' });
    expect((err as Error).message).not.toContain('wrong-secret-value');
    expect(await plain.keys('gh:{t:t1}:token:*')).toHaveLength(0);
  });

  it('a token endpoint that does not answer in time → 502 UPSTREAM_TIMEOUT, timeout flagged', async () => {
    const slow = makeInstance(200);
    try {
      upstream.route('/token-slow', () => undefined);
      const err = await slow.auth.apply('t1', cc({ token_url: `${upstream.url}/token-slow` }), now()).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 502, code: 'UPSTREAM_TIMEOUT', timeout: true, scope: 'Downstream (network/external service)' });
    } finally {
      await slow.close();
    }
  });

  it('refresh after an upstream 401 evicts the cached token and fetches a new one once', async () => {
    await a.auth.apply('t1', cc(), now());
    const cached = await b.auth.apply('t1', cc(), now());
    expect(cached.token?.fromCache).toBe(true);
    oauth.revokeAll();
    expect((await fetch(oauth.resourceUrl, { headers: { authorization: cached.headers[0]![1] } })).status).toBe(401);
    const fresh = await b.auth.refresh('t1', cc(), cached, now());
    expect(fresh).toBeDefined();
    expect(fresh!.headers[0]![1]).not.toBe(cached.headers[0]![1]);
    expect(oauth.tokenRequests).toHaveLength(2);
    expect((await fetch(oauth.resourceUrl, { headers: { authorization: fresh!.headers[0]![1] } })).status).toBe(200);
    // a freshly fetched token is not retried again
    expect(await b.auth.refresh('t1', cc(), fresh!, now())).toBeUndefined();
  });

  for (const alg of JWT_ALGORITHMS) {
    it(`jwt: signs with ${alg}; exp/iat/nbf numeric strings become integers; jwt_headers merged`, async () => {
      const k = keyFor(alg);
      const t = now();
      const applied = await a.auth.apply(
        't1',
        { type: 'jwt', private_key: k.priv, algorithm: alg, claims: { iss: 'my-service', sub: 'john@example.com', exp: String(t + 3600), iat: String(t), nbf: ` ${t} `, n: { x: 1 }, other: '123' }, jwt_headers: { kid: 'my-key-id' } },
        t,
      );
      const jwt = applied.headers[0]![1].slice('Bearer '.length);
      expect(decodeProtectedHeader(jwt)).toEqual({ alg, kid: 'my-key-id' });
      const { payload } = await jwtVerify(jwt, await k.verify());
      expect(payload).toEqual({ iss: 'my-service', sub: 'john@example.com', exp: t + 3600, iat: t, nbf: t, n: { x: 1 }, other: '123' });
    });
  }

  it('jwt: a fresh signature per request (no caching)', async () => {
    const k = keyFor('RS256');
    const one = await a.auth.apply('t1', { type: 'jwt', private_key: k.priv, algorithm: 'RS256', claims: { jti: 'a' } }, now());
    const two = await a.auth.apply('t1', { type: 'jwt', private_key: k.priv, algorithm: 'RS256', claims: { jti: 'b' } }, now());
    expect(one.headers[0]![1]).not.toBe(two.headers[0]![1]);
    expect(await plain.keys('*')).toHaveLength(0);
  });

  it('jwt: a bad key or a key of the wrong type → 422 JWT_SIGNING_FAILED, scope Authentication (JWT signing)', async () => {
    const bad = await a.auth.apply('t1', { type: 'jwt', private_key: 'not a key', algorithm: 'RS256', claims: {} }, now()).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 422, code: 'JWT_SIGNING_FAILED', scope: 'Authentication (JWT signing)' });
    expect((bad as Error).message).not.toContain('not a key');
    const ec = keyFor('ES256');
    const mismatch = await a.auth.apply('t1', { type: 'jwt', private_key: ec.priv, algorithm: 'RS256', claims: {} }, now()).catch((e: unknown) => e);
    expect(mismatch).toMatchObject({ status: 422, code: 'JWT_SIGNING_FAILED' });
  });

  it('oauth_jwt_bearer: assertion iss/sub/aud/exp(now+180)/iat + additional claims, jwt-bearer grant, cached token_ttl − 60', async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    oauth.addClient({ id: 'jb-client', assertionKey: pair.publicKey, grants: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] });
    const priv = pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const auth: ResolvedAuth = {
      type: 'oauth_jwt_bearer',
      client_id: 'jb-client',
      private_key: priv,
      token_url: oauth.tokenUrl,
      subject: 'admin@example.com',
      audience: oauth.tokenUrl,
      token_ttl: 600,
      algorithm: 'RS256',
      additional_claims: { scope: 'api refresh_token' },
      jwt_headers: { kid: 'my-key-id' },
    };
    const t = now();
    oauth.assertions.length = 0;
    const applied = await a.auth.apply('t1', auth, t);
    expect(oauth.tokenRequests).toHaveLength(1);
    expect(Object.keys(oauth.tokenRequests[0]!).sort()).toEqual(['assertion', 'grant_type']);
    expect(oauth.tokenRequests[0]!.grant_type).toBe('urn:ietf:params:oauth:grant-type:jwt-bearer');
    expect(oauth.assertions[0]!.header).toEqual({ alg: 'RS256', kid: 'my-key-id' });
    expect(oauth.assertions[0]!.payload).toEqual({ scope: 'api refresh_token', iss: 'jb-client', sub: 'admin@example.com', aud: oauth.tokenUrl, exp: t + 180, iat: t });
    expect((await fetch(oauth.resourceUrl, { headers: { authorization: applied.headers[0]![1] } })).status).toBe(200);
    await b.auth.apply('t1', auth, t);
    expect(oauth.tokenRequests).toHaveLength(1);
    const keys = await plain.keys('gh:{t:t1}:token:*');
    const ttl = await plain.ttl(keys[0]!);
    expect(ttl).toBeGreaterThan(530);
    expect(ttl).toBeLessThanOrEqual(540);
  });

  it('oauth_jwt_bearer: the server rejecting the assertion → 502 TOKEN_REQUEST_FAILED', async () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const err = await a.auth
      .apply(
        't1',
        {
          type: 'oauth_jwt_bearer', client_id: 'jb-client', private_key: other.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          token_url: oauth.tokenUrl, subject: 's', audience: oauth.tokenUrl, token_ttl: 3600, algorithm: 'RS256',
        },
        now(),
      )
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 502, code: 'TOKEN_REQUEST_FAILED' });
  });

  it('a token_url on a blocked address is BLOCKED_DESTINATION', async () => {
    const guard = createAddressGuard([]);
    const strict = new UpstreamClient({ timeoutMs: 1000, allowHttp: true, guard, dispatcher: createUpstreamDispatcher({ guard, extraCa: undefined, timeoutMs: 1000 }) });
    const auth = new OutboundAuth(strict, new TokenCache(a.redis, masterKey, { lockMs: 2000 }));
    try {
      await expect(auth.apply('t1', cc({ token_url: `http://127.0.0.1:${new URL(oauth.url).port}/token` }), now())).rejects.toMatchObject({ code: 'BLOCKED_DESTINATION' });
      await expect(auth.apply('t1', cc({ token_url: 'http://localhost/token' }), now())).rejects.toMatchObject({ code: 'BLOCKED_DESTINATION' });
      expect(oauth.tokenRequests).toHaveLength(0);
    } finally {
      await strict.close();
    }
  });
});
