import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, type Harness } from './harness.js';

const CANARY = 'canary-DEBUG-SECRET-91b2';

describe('Test Connection and X-Debug-Request (docs/design.md#test-connection)', () => {
  let h: Harness;
  let up: TestUpstream;
  const def = () => ({
    name: 'Weather API',
    url: `${up.url}/v1/current.json`,
    headers: [
      { key: 'X-Token', value: "Bearer {{ get_secret('tok') }}", overridable: false },
      { key: 'X-Email', value: '{{ user.email }}', overridable: false },
      { key: 'Accept', value: 'application/json', overridable: true },
    ],
    query_parameters: [{ key: 'units', value: 'metric', overridable: false }],
    authentication: { type: 'api_key', config: { key: 'key', value: "{{ get_secret('tok') }}", in: 'query' } },
    response_body: '{{ response.body | safe }}',
    response_content_type: 'application/json',
  });

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.putSecret('acme', 'tok', CANARY);
    await h.createConnector('acme', def());
    up.route('/v1/current.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
      res.end('{"temp_c": 11}');
    });
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  it('runs a saved connector; X-Debug-Request masks credentials and shows secret references as their template text', async () => {
    const r = await h.admin('POST', '/tenants/acme/connectors/test', {
      permalink: 'weather-api',
      request: { queryParams: { q: 'London', units: 'imperial' }, headers: { accept: 'text/xml' } },
      user: { id: 'u1', email: 'jo@example.com' },
    });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ status: 200, body: '{"temp_c": 11}' });
    expect(r.body.headers['x-cache']).toBe('BYPASS');
    expect(r.body.timing.cache_hit).toBe(false);
    const debug = JSON.parse(r.headers.get('x-debug-request')!);
    expect(debug).toEqual({
      url: `${up.url}/v1/current.json?units=metric&q=London`,
      method: 'GET',
      headers: { 'X-Token': "Bearer {{ get_secret('tok') }}", 'X-Email': 'jo@example.com', Accept: 'text/xml' },
      query_parameters: { units: 'metric', q: 'London' },
      authentication: { type: 'api_key', config: { key: 'key', value: '**********', in: 'query' } },
      request_body: null,
      response_body: '{{ response.body | safe }}',
      response_content_type: 'application/json',
      ignored_overrides: [{ in: 'query', key: 'units' }],
    });
    expect(up.requests[0]!.query.get('key')).toBe(CANARY);
    expect(JSON.stringify(r.body)).not.toContain(CANARY);
    expect(r.headers.get('x-debug-request')).not.toContain(CANARY);
  });

  it('a caller value replaced by the query API key is not shown: the debug view lists only what was sent, the key under authentication', async () => {
    const r = await h.admin('POST', '/tenants/acme/connectors/test', {
      permalink: 'weather-api',
      request: { queryParams: { key: 'caller-supplied', q: 'Oslo' } },
      user: { email: 'jo@example.com' },
    });
    expect(r.status).toBe(200);
    expect(up.requests[0]!.query.getAll('key')).toEqual([CANARY]);
    const debug = JSON.parse(r.headers.get('x-debug-request')!);
    expect(debug.query_parameters).toEqual({ units: 'metric', q: 'Oslo' });
    expect(debug.url).toBe(`${up.url}/v1/current.json?units=metric&q=Oslo`);
    expect(debug.authentication).toEqual({ type: 'api_key', config: { key: 'key', value: '**********', in: 'query' } });
    expect(r.headers.get('x-debug-request')).not.toContain('caller-supplied');
    expect(r.headers.get('x-debug-request')).not.toContain(CANARY);
  });

  it('never uses the cache, even for a cacheable answer', async () => {
    await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'weather-api', request: {}, user: { email: 'a@b.c' } });
    await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'weather-api', request: {}, user: { email: 'a@b.c' } });
    expect(up.requests).toHaveLength(2);
  });

  it('runs an unsaved connector after validating it', async () => {
    const r = await h.admin('POST', '/tenants/acme/connectors/test', { connector: { ...def(), name: 'Draft' }, request: { queryParams: { q: 'Paris' } }, user: { email: 'x@y.z' } });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe(200);
    expect(up.requests[0]!.query.get('q')).toBe('Paris');
  });

  it('duplicate parameter keys are reported at test time as a validation error', async () => {
    const bad = { ...def(), query_parameters: [{ key: 'a', value: '1', overridable: false }, { key: 'a', value: '2', overridable: false }] };
    const r = await h.admin('POST', '/tenants/acme/connectors/test', { connector: bad, request: {} });
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
    expect(up.requests).toHaveLength(0);
  });

  it('keys over 255 and values over 1000 characters are rejected; get_secret is not available in request_body', async () => {
    const long = { ...def(), headers: [{ key: 'X-Long', value: 'v'.repeat(1001), overridable: false }] };
    const r1 = await h.admin('POST', '/tenants/acme/connectors/test', { connector: long, request: {} });
    expect(r1.status).toBe(422);
    expect(r1.body.error.details[0].path).toBe('/headers/0/value');
    const longKey = { ...def(), query_parameters: [{ key: 'k'.repeat(256), value: 'v', overridable: false }] };
    expect((await h.admin('POST', '/tenants/acme/connectors/test', { connector: longKey, request: {} })).status).toBe(422);
    const secretInBody = { ...def(), method: 'POST', request_body: "{{ get_secret('tok') }}" };
    const r3 = await h.admin('POST', '/tenants/acme/connectors/test', { connector: secretInBody, request: {} });
    expect(r3.status).toBe(422);
    expect(r3.body.error.details[0].path).toBe('/request_body');
    expect(up.requests).toHaveLength(0);
  });

  it('a failing run still answers 200 with the error envelope and the debug header (with ignored path overrides)', async () => {
    await h.createConnector('acme', { name: 'Pinned', url: `${up.url}/p/{{ pathParams.a }}/{{ pathParams.b }}`, path_parameters: [{ key: 'a' }, { key: 'b', value: 'v1', overridable: false }] });
    const r = await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'pinned', request: { pathParams: { b: 'v2' } } });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe(400);
    expect(JSON.parse(r.body.body).errors).toMatchObject({ code: 'MISSING_PATH_PARAMETERS', params: ['a'] });
    const debug = JSON.parse(r.headers.get('x-debug-request')!);
    expect(debug.ignored_overrides).toEqual([{ in: 'path', key: 'b' }]);
    const ok = await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'pinned', request: { pathParams: { a: '1', b: 'v2' } } });
    expect(ok.body.status).toBe(200);
    expect(up.requests.at(-1)!.path).toBe('/p/1/v1');
  });

  it('masks OAuth client secret, JWT key and claims; shows token_url, scope and algorithm', async () => {
    const r = await h.admin('POST', '/tenants/acme/connectors/test', {
      connector: {
        name: 'JWT Draft',
        url: `${up.url}/j`,
        authentication: { type: 'jwt', config: { private_key: "{{ get_secret('tok') }}", algorithm: 'HS256', claims: { sub: 'x' }, jwt_headers: { kid: 'k' } } },
      },
      request: {},
    });
    expect(JSON.parse(r.headers.get('x-debug-request')!).authentication).toEqual({ type: 'jwt', config: { private_key: '**********', algorithm: 'HS256', claims: '**********', jwt_headers: { kid: 'k' } } });
    const o = await h.admin('POST', '/tenants/acme/connectors/test', {
      connector: {
        name: 'OAuth Draft',
        url: `${up.url}/j`,
        authentication: { type: 'oauth_client_credentials', config: { client_id: "{{ get_secret('tok') }}", client_secret: "{{ get_secret('tok') }}", token_url: `${up.url}/token`, scope: 'read' } },
      },
      request: {},
    });
    expect(JSON.parse(o.headers.get('x-debug-request')!).authentication).toEqual({
      type: 'oauth_client_credentials',
      config: { client_id: "{{ get_secret('tok') }}", client_secret: '**********', token_url: `${up.url}/token`, scope: 'read' },
    });
    expect(o.headers.get('x-debug-request')).not.toContain(CANARY);
    expect(h.logs.join('\n')).not.toContain(CANARY);
  });

  it('unknown tenant or permalink → 404 in the admin envelope', async () => {
    expect((await h.admin('POST', '/tenants/acme/connectors/test', { permalink: 'nope', request: {} })).body.error.code).toBe('CONNECTOR_NOT_FOUND');
    expect((await h.admin('POST', '/tenants/nobody/connectors/test', { permalink: 'nope', request: {} })).status).toBe(404);
  });
});
