import { generateKeyPairSync } from 'node:crypto';
import { decodeProtectedHeader, importSPKI, jwtVerify } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startOAuthServer, JWT_BEARER, type TestOAuthServer } from '../support/oauth-server.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { startHarness, type Harness } from './harness.js';

/** Forgets cached OAuth tokens (the cache Redis is the state Redis in tests: never flush it). */
async function dropTokens(h: Harness): Promise<void> {
  const keys = await h.services.cacheRedis.keys('gh:{t:acme}:token:*');
  if (keys.length > 0) await h.services.cacheRedis.del(...keys);
}

describe('outbound authentication through the pipeline', () => {
  let h: Harness;
  let h2: Harness;
  let up: TestUpstream;
  let oauth: TestOAuthServer;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const rsaPub = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    oauth = await startOAuthServer();
    oauth.addClient({ id: 'svc', secret: 'client-secret-value-1', grants: ['client_credentials'] });
    oauth.addClient({ id: 'jb', assertionKey: rsa.publicKey, grants: [JWT_BEARER] });
    h = await startHarness();
    h2 = await startHarness();
    await h.createTenant('acme');
    await h.putSecret('acme', 'client_id', 'svc');
    await h.putSecret('acme', 'client_secret', 'client-secret-value-1');
    await h.putSecret('acme', 'key', 'the-api-key');
    await h.putSecret('acme', 'signing_key', rsaPem);
    await h.putSecret('acme', 'bad_key', 'not-a-pem');
    const cc = { client_id: "{{ get_secret('client_id') }}", client_secret: "{{ get_secret('client_secret') }}", token_url: oauth.tokenUrl, scope: 'read write' };
    await h.createConnector('acme', { name: 'Resource', url: oauth.resourceUrl, authentication: { type: 'oauth_client_credentials', config: cc } });
    await h.createConnector('acme', { name: 'Legacy Key', url: `${up.url}/k`, authentication: { type: 'apikey', config: { key: 'key', value: "{{ get_secret('key') }}", in: 'query' } } as never });
    await h.createConnector('acme', {
      name: 'Signed',
      url: `${up.url}/jwt`,
      authentication: {
        type: 'jwt',
        config: { private_key: "{{ get_secret('signing_key') }}", algorithm: 'RS256', claims: { iss: 'my-service', sub: '{{ user.email }}', ten: '{{ tenant_id }}', exp: '{{ now(3600) }}', iat: '{{ now() }}' }, jwt_headers: { kid: 'my-key-id' } },
      },
    });
    await h.createConnector('acme', {
      name: 'Bad Signing',
      url: `${up.url}/jwt`,
      authentication: { type: 'jwt', config: { private_key: "{{ get_secret('bad_key') }}", algorithm: 'RS256', claims: { iss: 'x' } } },
    });
    await h.createConnector('acme', {
      name: 'Bearer Resource',
      url: oauth.resourceUrl,
      authentication: {
        type: 'oauth_jwt_bearer',
        config: { client_id: 'jb', private_key: "{{ get_secret('signing_key') }}", token_url: oauth.tokenUrl, subject: 'admin@example.com', audience: oauth.tokenUrl, token_ttl: 3600, algorithm: 'RS256', additional_claims: { scope: 'api' }, jwt_headers: { kid: 'k1' } },
      },
    });
  });
  afterAll(async () => {
    await h.close();
    await h2.close();
    await up.close();
    await oauth.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  it('apikey is accepted as an alias of api_key; query mode appends key=value, replacing a caller value', async () => {
    const r = await h.exec('legacy-key', { query: '?key=caller&q=1' });
    expect(r.status).toBe(200);
    expect(up.requests[0]!.query.getAll('key')).toEqual(['the-api-key']);
    expect(up.requests[0]!.query.get('q')).toBe('1');
    const stored = await h.admin('GET', '/tenants/acme/connectors/legacy-key');
    expect(JSON.stringify(stored.body)).toContain('"api_key"');
  });

  it('OAuth client credentials: token from a real authorization server, Bearer on the upstream, cached', async () => {
    oauth.tokenRequests.length = 0;
    await dropTokens(h);
    const r = await h.exec('resource');
    expect(r.status).toBe(200);
    expect(r.json).toMatchObject({ ok: true, client: 'svc' });
    await h.exec('resource');
    expect(oauth.tokenRequests).toHaveLength(1);
    expect(oauth.tokenRequests[0]).toEqual({ grant_type: 'client_credentials', client_id: 'svc', client_secret: 'client-secret-value-1', scope: 'read write' });
  });

  it('20 concurrent first calls → exactly one token request, across two app instances sharing Redis', async () => {
    oauth.tokenRequests.length = 0;
    oauth.setTokenDelay(200);
    await dropTokens(h);
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? h : h2).exec('resource')));
    oauth.setTokenDelay(0);
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(oauth.tokenRequests).toHaveLength(1);
  });

  it('an upstream 401 with a cached token evicts it and retries once with a new token', async () => {
    await h.exec('resource');
    oauth.tokenRequests.length = 0;
    oauth.revokeAll();
    const r = await h.exec('resource');
    expect(r.status).toBe(200);
    expect(oauth.tokenRequests).toHaveLength(1);
  });

  it('JWT: a fresh RS256 JWT per request with integer exp/iat, jwt_headers, templated claims', async () => {
    const token = await h.session();
    await h.exec('signed', { token });
    await h.exec('signed', { token });
    const [a, b] = up.requests.map((x) => (x.headers.authorization as string).slice(7));
    expect(decodeProtectedHeader(a!)).toEqual({ alg: 'RS256', kid: 'my-key-id' });
    const { payload } = await jwtVerify(a!, await importSPKI(rsaPub, 'RS256'));
    expect(payload.sub).toBe('jo@example.com');
    expect(payload.ten).toBe('acme');
    expect(Number.isInteger(payload.exp)).toBe(true);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(a).toBeDefined();
    expect(b).toBeDefined();
  });

  it('a signing failure → 422 JWT_SIGNING_FAILED, scope Authentication (JWT signing), no upstream call', async () => {
    const r = await h.exec('bad-signing');
    expect(r.status).toBe(422);
    expect(r.json.errors).toMatchObject({ code: 'JWT_SIGNING_FAILED', scope: 'Authentication (JWT signing)' });
    expect(up.requests).toHaveLength(0);
    expect(r.text).not.toContain('not-a-pem');
  });

  it('OAuth JWT bearer: assertion exchanged at the real server, token used at the resource', async () => {
    oauth.assertions.length = 0;
    const r = await h.exec('bearer-resource');
    expect(r.status).toBe(200);
    expect(r.json.user).toEqual({ id: 'admin@example.com' });
    expect(oauth.assertions[0]!.header).toEqual({ alg: 'RS256', kid: 'k1' });
    expect(oauth.assertions[0]!.payload.exp! - oauth.assertions[0]!.payload.iat!).toBe(180);
  });

  it('auth config strings are templates: jwt_encode, get_secret, get_variable, user.*, tenant_id, now', async () => {
    await h.putSecret('acme', 'hs', 'hmac-secret-for-jwt-encode');
    await h.putVariable('acme', 'prefix', 'Token');
    await h.createConnector('acme', {
      name: 'Encoded Key',
      url: `${up.url}/enc`,
      authentication: {
        type: 'api_key',
        config: { key: 'Authorization', value: "{{ get_variable('prefix') }} {{ jwt_encode({'sub': user.email, 't': tenant_id, 'exp': now(60)}, get_secret('hs'), 'HS256', {'kid': 'k9'}) }}", in: 'header' },
      },
    });
    const r = await h.exec('encoded-key', { token: await h.session() });
    expect(r.status).toBe(200);
    const [scheme, jwt] = (up.requests[0]!.headers.authorization as string).split(' ');
    expect(scheme).toBe('Token');
    const { payload, protectedHeader } = await jwtVerify(jwt!, new TextEncoder().encode('hmac-secret-for-jwt-encode'));
    expect(protectedHeader.kid).toBe('k9');
    expect(payload).toMatchObject({ sub: 'jo@example.com', t: 'acme' });
  });

  it('jwt_encode() that cannot sign → 422 JWT_SIGNING_FAILED (not TEMPLATE_ERROR), no upstream call', async () => {
    await h.putSecret('acme', 'bad_pem', 'not-a-pem-at-all');
    await h.createConnector('acme', {
      name: 'Encoded Bad Key',
      url: `${up.url}/enc-bad`,
      headers: [{ key: 'X-Assertion', value: "{{ jwt_encode({'sub': 'x'}, get_secret('bad_pem'), 'RS256') }}", overridable: false }],
    });
    up.requests.length = 0;
    const r = await h.exec('encoded-bad-key');
    expect(r.status).toBe(422);
    expect(r.json.errors).toMatchObject({ code: 'JWT_SIGNING_FAILED', scope: 'Authentication (JWT signing)' });
    expect(up.requests).toHaveLength(0);
    expect(r.text).not.toContain('not-a-pem-at-all');
  });

  it('a token endpoint failure → 502 TOKEN_REQUEST_FAILED, scope Authentication (token request)', async () => {
    await h.putSecret('acme', 'client_secret', 'wrong-secret-now');
    await dropTokens(h);
    const r = await h.exec('resource');
    await h.putSecret('acme', 'client_secret', 'client-secret-value-1');
    expect(r.status).toBe(502);
    expect(r.json.errors).toMatchObject({ code: 'TOKEN_REQUEST_FAILED', scope: 'Authentication (token request)' });
    expect(r.text).not.toContain('wrong-secret-now');
  });
});
