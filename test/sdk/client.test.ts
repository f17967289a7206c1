import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ConnectorBoundaryError,
  ConnectorExecuteError,
  ConnectorFixtureError,
  ConnectorNetworkError,
  createConnectorsClient,
  type FixturesDocument,
} from '../../sdk/src/connectors.js';
import { API_KEY_SECRET, startSdkScenario, type SdkScenario } from './scenario.js';

/** The widget client under Node 20's global fetch, against a real Gatehouse and a real upstream. */
describe('widget client (Node fetch)', () => {
  let s: SdkScenario;
  const client = () => createConnectorsClient({ baseUrl: s.h.url, tenant: 'acme' });
  const rejection = async (p: Promise<unknown>): Promise<any> => p.then(() => expect.fail('the call should have failed'), (e: unknown) => e);

  beforeAll(async () => {
    s = await startSdkScenario();
  });
  afterAll(async () => {
    await s?.close();
  });
  beforeEach(() => {
    s.up.requests.length = 0;
  });

  it('GET with query and path parameters: X-Path-Params, the declared query and header reach the upstream, JSON is parsed', async () => {
    const r = await client().execute({ permalink: 'weather', method: 'GET', queryParams: { q: 'Warsaw', extra: 'kept' }, pathParams: { city: 'Warsaw' }, headers: { 'Accept-Language': 'pl' } });
    expect(r.path).toBe('/weather/Warsaw/metric');
    expect(r.query).toEqual({ q: 'Warsaw', lang: 'en', source: 'gatehouse', extra: 'kept' });
    expect(r.headers['accept-language']).toBe('pl');
    expect(r.headers['x-api-key']).toBe(API_KEY_SECRET);
    expect(s.up.requests).toHaveLength(1);
  });

  it('a number path parameter is sent as text; the default fills an omitted one', async () => {
    const r = await client().execute({ permalink: 'weather', method: 'GET', pathParams: { city: 2950159, units: 'imperial' } });
    expect(r.path).toBe('/weather/2950159/imperial');
  });

  it('POST sends payload as the JSON body; PUT with path parameter and payload', async () => {
    const c = client();
    const post = await c.execute({ permalink: 'contacts', method: 'POST', payload: { firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' } });
    expect(post.method).toBe('POST');
    expect(JSON.parse(post.body)).toEqual({ firstName: 'Ada', lastName: 'Lovelace', email: 'ada@example.com' });
    expect(post.headers['content-type']).toBe('application/json');
    const put = await c.execute({ permalink: 'contact-update', method: 'PUT', pathParams: { id: 'contact-42' }, payload: { email: 'new@example.com' } });
    expect(put.path).toBe('/contacts/contact-42');
    expect(JSON.parse(put.body)).toEqual({ email: 'new@example.com' });
  });

  it('payload is sent only for POST/PUT/PATCH: on GET it is not sent; unknown options (body) are ignored', async () => {
    const r = await client().execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Oslo' }, payload: { ignored: true }, body: '{"x":1}' } as never);
    expect(r.body).toBe('');
    expect(s.up.requests[0]!.body.length).toBe(0);
    expect(s.up.requests[0]!.headers['content-type']).toBeUndefined();
  });

  it('composite.execute is always POST, with payload and queryParams visible to its steps', async () => {
    const r = await client().composite.execute({ permalink: 'dashboard', payload: { widget: 'w1' }, queryParams: { city: 'Lima' } });
    expect(r).toEqual({ forecast_query: { city: 'Lima' }, widget: { widget: 'w1' } });
    expect(s.up.requests.map((x) => `${x.method} ${x.path}`)).toEqual(['GET /forecast', 'POST /summary']);
  });

  it('pathParams are checked before any network I/O: empty key, wrong type, over 4096 characters, on a composite', async () => {
    const c = client();
    const cases: [Promise<unknown>, string][] = [
      [c.execute({ permalink: 'weather', method: 'GET', pathParams: { '': 'x' } } as never), 'EMPTY_PATH_PARAM_KEY'],
      [c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: true } } as never), 'INVALID_PATH_PARAM_TYPE'],
      [c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: { a: 1 } } } as never), 'INVALID_PATH_PARAM_TYPE'],
      [c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: Number.NaN } } as never), 'INVALID_PATH_PARAM_TYPE'],
      [c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'x'.repeat(4097) } }), 'PATH_PARAM_TOO_LONG'],
      [c.execute({ permalink: 'weather', method: 'GET', pathParams: ['Warsaw'] } as never), 'PATH_PARAMS_NOT_OBJECT'],
      [c.composite.execute({ permalink: 'dashboard', pathParams: { a: '1' } } as never), 'COMPOSITE_PATH_PARAMS'],
      [c.execute({ permalink: 'weather' } as never), 'INVALID_METHOD'],
      [c.execute({ permalink: '', method: 'GET' }), 'INVALID_PERMALINK'],
    ];
    for (const [call, reason] of cases) {
      const e = await rejection(call);
      expect(e).toBeInstanceOf(ConnectorBoundaryError);
      expect(e).toMatchObject({ name: 'ConnectorBoundaryError', reason, code: 'INVALID_OPTIONS' });
      expect(e.message.length).toBeGreaterThan(10);
    }
    expect(s.up.requests).toHaveLength(0);
    // Exactly 4096 characters is allowed through to the server (which then judges the value).
    const e = await rejection(c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'x'.repeat(4096) } }));
    expect(e).toBeInstanceOf(ConnectorExecuteError);
  });

  it('server envelopes become ConnectorExecuteError with status, code, detail, scope, params, requestId (400/404/405/422/502)', async () => {
    const c = client();
    const missing = await rejection(c.execute({ permalink: 'weather', method: 'GET' } as never));
    expect(missing).toBeInstanceOf(ConnectorExecuteError);
    expect(missing).toMatchObject({ name: 'ConnectorExecuteError', status: 400, code: 'MISSING_PATH_PARAMETERS', params: ['city'] });
    expect(missing.detail).toMatch(/city/);
    expect(missing.requestId).toMatch(/^[0-9a-f-]{36}$/);

    const invalid = await rejection(c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: '../etc' } }));
    expect(invalid).toMatchObject({ status: 400, code: 'INVALID_PATH_PARAMETERS', params: ['city'] });

    const notFound = await rejection(c.execute({ permalink: 'no-such-connector', method: 'GET' }));
    expect(notFound).toMatchObject({ status: 404, code: 'CONNECTOR_NOT_FOUND' });
    expect(notFound.detail).toMatch(/no-such-connector/);

    const wrongMethod = await rejection(c.execute({ permalink: 'contacts', method: 'GET' } as never));
    expect(wrongMethod).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });

    const template = await rejection(c.execute({ permalink: 'broken-response', method: 'GET' }));
    expect(template).toMatchObject({ status: 422, code: 'TEMPLATE_ERROR', scope: 'Configuration (response template rendering)' });

    const unreachable = await rejection(c.execute({ permalink: 'unreachable', method: 'GET' }));
    expect(unreachable).toMatchObject({ status: 502, code: 'UPSTREAM_UNREACHABLE', scope: 'Downstream (network/external service)' });
    expect(unreachable.message).toBe(`502 UPSTREAM_UNREACHABLE: ${unreachable.detail}`);
  });

  it('non-JSON answers are returned as text, HEAD as null', async () => {
    const c = client();
    expect(await c.execute({ permalink: 'plain-text', method: 'GET' })).toBe('plain words, not JSON');
    expect(await c.execute({ permalink: 'ping', method: 'HEAD' })).toBeNull();
    expect(s.up.requests.map((r) => r.method)).toEqual(['GET', 'HEAD']);
  });

  it('times out through AbortController after configure({ timeout }) with code TIMEOUT', async () => {
    const c = client();
    expect(c.getDefaultTimeout()).toBe(30_000);
    c.configure({ timeout: 500 });
    const e = await rejection(c.execute({ permalink: 'slow', method: 'GET' }));
    expect(e).toBeInstanceOf(ConnectorNetworkError);
    expect(e).toMatchObject({ code: 'TIMEOUT' });
    expect(e.message).toMatch(/500 ms/);
    s.releaseSlow();
  });

  it('a network failure is NETWORK_ERROR', async () => {
    const c = createConnectorsClient({ baseUrl: `http://127.0.0.1:${s.closedPort}`, tenant: 'acme' });
    const e = await rejection(c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'x' } }));
    expect(e).toBeInstanceOf(ConnectorNetworkError);
    expect(e).toMatchObject({ code: 'NETWORK_ERROR' });
  });

  it('getSessionToken (sync or async) supplies the bearer token; user.* reaches the upstream', async () => {
    const token = await s.h.session({ sub: 'user-7', email: 'seven@example.com' });
    const syncClient = createConnectorsClient({ baseUrl: s.h.url, tenant: 'acme', getSessionToken: () => token });
    const asyncClient = createConnectorsClient({ baseUrl: s.h.url, tenant: 'acme', getSessionToken: async () => token });
    for (const c of [syncClient, asyncClient]) {
      const r = await c.execute({ permalink: 'whoami', method: 'GET' });
      expect(r.query.user_id).toBe('user-7');
      expect(r.headers['x-user-email']).toBe('seven@example.com');
      expect(r.headers.authorization).toBeUndefined();
    }
    const anonymous = await rejection(client().execute({ permalink: 'whoami', method: 'GET' }));
    expect(anonymous).toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
  });

  it('on 401 INVALID_SESSION the client asks for a token once more ({ renew: true }) and retries once', async () => {
    const good = await s.h.session();
    const asked: boolean[] = [];
    const renewing = createConnectorsClient({
      baseUrl: s.h.url,
      tenant: 'acme',
      getSessionToken: ({ renew }) => {
        asked.push(renew);
        return renew ? good : 'eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.expired-or-forged';
      },
    });
    const r = await renewing.execute({ permalink: 'whoami', method: 'GET' });
    expect(r.query.user_id).toBe('user-42');
    expect(asked).toEqual([false, true]);

    const always: boolean[] = [];
    const hopeless = createConnectorsClient({ baseUrl: s.h.url, tenant: 'acme', getSessionToken: ({ renew }) => (always.push(renew), 'a.b.c') });
    const e = await rejection(hopeless.execute({ permalink: 'whoami', method: 'GET' }));
    expect(e).toMatchObject({ status: 401, code: 'INVALID_SESSION' });
    expect(always).toEqual([false, true]);
    expect(s.up.requests.filter((x) => x.path === '/whoami')).toHaveLength(1);
  });

  it('configure, updateHeaders, setDefaultTimeout and the getters: settings are global to the client', async () => {
    const shared = createConnectorsClient({ baseUrl: `${s.h.url}/`, tenant: 'acme', unknownOption: 1 } as never);
    expect(shared.getBaseUrl()).toBe(s.h.url);
    expect(shared.getHeaders()).toEqual({});
    shared.configure({ headers: { 'Accept-Language': 'de' }, timeout: 60_000, csrfToken: 'ignored' } as never);
    shared.updateHeaders({ 'X-App-Version': '2.1.0' });
    expect(shared.getHeaders()).toEqual({ 'Accept-Language': 'de', 'X-App-Version': '2.1.0' });
    shared.getHeaders()['X-Mutated'] = 'no';
    expect(shared.getHeaders()).not.toHaveProperty('X-Mutated');
    shared.setDefaultTimeout(45_000);
    expect(shared.getDefaultTimeout()).toBe(45_000);
    expect(() => shared.setDefaultTimeout(-1)).toThrow(ConnectorBoundaryError);

    // Two widgets on one page share the client: the default header reaches both calls; a per-call header wins.
    const widgetA = await shared.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Bern' } });
    const widgetB = await shared.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Bern' }, headers: { 'Accept-Language': 'fr' } });
    expect(widgetA.headers['accept-language']).toBe('de');
    expect(widgetB.headers['accept-language']).toBe('fr');
    // Undeclared caller headers are Gatehouse's to drop, but the client did send them.
    expect(s.up.requests[0]!.headers['x-app-version']).toBeUndefined();
  });

  describe('mock mode (fixtures)', () => {
    const fixtures: FixturesDocument = {
      gatehouse_fixtures: 1,
      tenant: 'acme',
      connectors: {
        weather: {
          method: 'GET',
          calls: [
            { request: { queryParams: { q: 'Warsaw' }, pathParams: { city: 'Warsaw' } }, response: { status: 200, contentType: 'application/json', body: { temp: 21 } } },
            { request: { pathParams: { city: 'Atlantis' } }, response: { status: 404, contentType: 'application/json', body: { success: false, errors: { code: 'CITY_UNKNOWN', detail: 'no such city' }, request_id: 'r-1' } } },
          ],
        },
        'plain-text': { method: 'GET', calls: [{ response: { status: 200, contentType: 'text/plain', body: 'recorded text' } }] },
        broken: { method: 'GET', calls: [{ response: { status: 502, contentType: 'application/json', body: { success: false, errors: { code: 'UPSTREAM_UNREACHABLE', detail: 'down', scope: 'Downstream (network/external service)' }, request_id: 'r-2' } } }] },
      },
      composites: { dashboard: { calls: [{ request: { queryParams: { city: 'Lima' }, payload: { widget: 'w1' } }, response: { status: 200, body: { ok: true } } }] } },
    };
    // Nothing listens at this address: any network use would fail the calls.
    const mock = () => createConnectorsClient({ baseUrl: `http://127.0.0.1:${s.closedPort}`, tenant: 'acme', fixtures });

    it('answers from fixtures with no network at all, matching the request (key order free)', async () => {
      const c = mock();
      expect(await c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Warsaw' }, queryParams: { q: 'Warsaw' } })).toEqual({ temp: 21 });
      expect(await c.execute({ permalink: 'plain-text', method: 'GET', queryParams: { any: 'thing' } })).toBe('recorded text');
      expect(await c.composite.execute({ permalink: 'dashboard', queryParams: { city: 'Lima' }, payload: { widget: 'w1' } })).toEqual({ ok: true });
      expect(s.up.requests).toHaveLength(0);
    });

    it('recorded errors are thrown like live ones; unrecorded calls and wrong methods say so', async () => {
      const c = mock();
      expect(await rejection(c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Atlantis' } }))).toMatchObject({ status: 404, code: 'CITY_UNKNOWN', detail: 'no such city', requestId: 'r-1' });
      expect(await rejection(c.execute({ permalink: 'broken', method: 'GET' }))).toMatchObject({ status: 502, code: 'UPSTREAM_UNREACHABLE', scope: 'Downstream (network/external service)' });
      const unrecorded = await rejection(c.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Paris' } }));
      expect(unrecorded).toMatchObject({ code: 'FIXTURE_NOT_FOUND' });
      expect(unrecorded.detail).toMatch(/Paris/);
      expect(await rejection(c.execute({ permalink: 'weather', method: 'POST', pathParams: { city: 'Warsaw' } } as never))).toMatchObject({ status: 405, code: 'METHOD_NOT_ALLOWED' });
      expect(await rejection(c.execute({ permalink: 'elsewhere', method: 'GET' }))).toMatchObject({ status: 404, code: 'CONNECTOR_NOT_FOUND' });
      // Boundary checks are the same as live.
      expect(await rejection(c.execute({ permalink: 'weather', method: 'GET', pathParams: { '': 'x' } } as never))).toBeInstanceOf(ConnectorBoundaryError);
      expect(s.up.requests).toHaveLength(0);
    });

    it('a fixtures document of the wrong shape is refused when the client is created, saying where', () => {
      expect(() => createConnectorsClient({ tenant: 'acme', fixtures: { connectors: {} } as never })).toThrow(ConnectorFixtureError);
      expect(() => createConnectorsClient({ tenant: 'acme', fixtures: { gatehouse_fixtures: 1, connectors: { w: { method: 'GET', calls: [{ response: { body: 1 } }] } } } as never })).toThrow(
        'connectors["w"].calls[0].response must be an object with a "status" from 100 to 599',
      );
    });
  });
});
