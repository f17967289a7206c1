import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, type Harness } from './harness.js';

const CANARY = 'canary-SECRET-7f3a9c1e55';

describe('execute pipeline: stages, parameters, bodies, response templates, user context', () => {
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.createTenant('other');
    await h.putSecret('acme', 'api_key', CANARY);
    await h.putVariable('acme', 'region', 'eu');
    const u = up.url;
    await h.createConnector('acme', {
      name: 'Echo',
      url: `${u}/echo`,
      method: 'GET',
      headers: [
        { key: 'Accept', value: 'application/json', overridable: true },
        { key: 'X-Fields', value: 'name,capital,population', overridable: true },
        { key: 'X-Tenant-ID', value: '{{ tenant_id }}', overridable: false },
        { key: 'X-Region', value: "{{ get_variable('region') }}", overridable: false },
      ],
      query_parameters: [
        { key: 'limit', value: '20', overridable: true },
        { key: 'visibility', value: 'public', overridable: false },
      ],
      authentication: { type: 'api_key', config: { key: 'X-API-Key', value: "{{ get_secret('api_key') }}", in: 'header' } },
    });
    await h.createConnector('acme', {
      name: 'Whoami',
      url: `${u}/users/{{ user.id }}/profile`,
      query_parameters: [
        { key: 'email', value: '{{ user.email }}', overridable: false },
        { key: 'department', value: '{{ user.profile_fields.by_id(42) }}', overridable: false },
      ],
    });
    await h.createConnector('acme', { name: 'Public', url: `${u}/public`, query_parameters: [{ key: 'q', value: 'x', overridable: true }] });
    await h.createConnector('acme', { name: 'Passthrough', url: `${u}/post`, method: 'POST' });
    await h.createConnector('acme', {
      name: 'Templated Body',
      url: `${u}/post`,
      method: 'POST',
      request_body: '{"tenant": "{{ tenant_id }}", "order": {{ (body_text | from_json).order.id }}, "raw": "{{ body_raw is none }}", "who": "{{ user.email }}"}',
    });
    await h.createConnector('acme', {
      name: 'Body None',
      url: `${u}/post`,
      method: 'POST',
      request_body: '{{ body_text }}|{{ body_raw }}',
    });
    await h.createConnector('acme', {
      name: 'Reshape',
      url: `${u}/items`,
      response_body:
        '{% if response.status_code == 200 %}{% set data = response.body | from_json %}{{ data["items"] | map(attribute="id") | list | tojson }}{% else %}{"error": true, "status": {{ response.status_code }}, "ct": "{{ response.headers["content-type"] }}"}{% endif %}',
      response_content_type: 'application/json',
    });
    await h.createConnector('acme', { name: 'Binary', url: `${u}/binary`, response_body: '{{ response.body is none }}' });
    await h.createConnector('acme', { name: 'Broken Response', url: `${u}/items`, response_body: '{{ response.body | from_json }}' });
    await h.createConnector('acme', { name: 'Redirect', url: `${u}/redirect` });
    up.route('/items', (req, res) => {
      const status = Number(req.query.get('status') ?? '200');
      res.writeHead(status, { 'content-type': status === 200 ? 'application/json' : 'text/plain', 'set-cookie': 'up=1', 'x-upstream': 'yes' });
      res.end(status === 200 ? JSON.stringify({ items: [{ id: 'a' }, { id: 'b' }] }) : 'upstream says no');
    });
    // The upstream behind "echo" must not echo: the canary test looks for the secret in our answers.
    up.route('/echo', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    up.route('/binary', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.from([0xff, 0xfe, 0x00, 0x80]));
    });
    up.route('/redirect', (_req, res) => {
      res.writeHead(302, { location: 'https://elsewhere.example/next' });
      res.end();
    });
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });
  const last = () => up.requests[up.requests.length - 1]!;

  it('stage order: merged params, template variables, secrets and auth all reach one upstream request', async () => {
    const r = await h.exec('echo', { query: '?limit=5&q=hello', headers: { accept: 'text/plain' } });
    expect(r.status).toBe(200);
    const seen = last();
    expect(seen.query.get('limit')).toBe('5');
    expect(seen.query.get('visibility')).toBe('public');
    expect(seen.query.get('q')).toBe('hello');
    expect(seen.headers['x-tenant-id']).toBe('acme');
    expect(seen.headers['x-region']).toBe('eu');
    expect(seen.headers['x-api-key']).toBe(CANARY);
    expect(seen.headers.accept).toBe('text/plain');
  });

  it('only GET and HEAD consult the cache: POST answers X-Cache BYPASS, GET MISS', async () => {
    expect((await h.exec('passthrough', { method: 'POST', body: '{}' })).headers.get('x-cache')).toBe('BYPASS');
    expect((await h.exec('public')).headers.get('x-cache')).toBe('MISS');
  });

  it('session-derived values cannot be supplied or altered by the browser', async () => {
    const token = await h.session();
    const r = await h.exec('whoami', { token, query: '?email=evil@example.com&department=Admin' });
    expect(r.status).toBe(200);
    expect(last().path).toBe('/users/user-42/profile');
    expect(last().query.getAll('email')).toEqual(['jo@example.com']);
    expect(last().query.getAll('department')).toEqual(['Sales']);
  });

  it('a non-overridable value cannot be changed; an overridable one falls back to its configured value', async () => {
    await h.exec('echo', { query: '?visibility=private' });
    expect(last().query.getAll('visibility')).toEqual(['public']);
    expect(last().query.get('limit')).toBe('20');
    expect(last().headers['x-fields']).toBe('name,capital,population');
    await h.exec('echo', { headers: { 'x-tenant-id': 'other', 'x-fields': 'name' } });
    expect(last().headers['x-fields']).toBe('name');
    expect(last().headers['x-tenant-id']).toBe('acme');
  });

  it('query values are percent-encoded (spaces, =, &, quotes, brackets)', async () => {
    await h.exec('public', { query: `?q=${encodeURIComponent(`a b=c&d"e'`)}&${encodeURIComponent('module[]')}=groups` });
    expect(last().url).toContain('q=a%20b%3Dc%26d%22e');
    expect(last().query.get('q')).toBe(`a b=c&d"e'`);
    expect(last().query.get('module[]')).toBe('groups');
  });

  it('undeclared caller query parameters are appended upstream', async () => {
    await h.exec('public', { query: '?city=London&city=Paris' });
    expect(last().query.getAll('city')).toEqual(['London', 'Paris']);
  });

  it('no undeclared caller header reaches the upstream (Cookie, Authorization, Host, X-Forwarded-For …)', async () => {
    await h.exec('echo', {
      headers: { cookie: 'sid=1', 'x-forwarded-for': '10.0.0.1', 'x-custom': 'nope', 'x-api-key': 'caller-key', origin: 'https://widgets.example', 'x-path-params': 'a=1' },
    });
    const names = last().rawHeaders.filter((_, i) => i % 2 === 0).map((n) => n.toLowerCase()).sort();
    expect(names).toEqual(['accept', 'connection', 'host', 'x-api-key', 'x-fields', 'x-region', 'x-tenant-id'].sort());
    expect(last().headers['x-api-key']).toBe(CANARY);
    expect(last().headers.host).toBe(new URL(up.url).host);
  });

  it('no caller value is ever rendered as a template (query, header, path, body)', async () => {
    const evil = "{{ get_secret('api_key') }}{{ 7*7 }}";
    const r = await h.exec('echo', { query: `?limit=${encodeURIComponent(evil)}&extra=${encodeURIComponent(evil)}`, headers: { accept: evil } });
    expect(r.status).toBe(200);
    expect(last().query.get('limit')).toBe(evil);
    expect(last().query.get('extra')).toBe(evil);
    expect(last().headers.accept).toBe(evil);
    const b = await h.exec('passthrough', { method: 'POST', body: evil, headers: { 'content-type': 'text/plain' } });
    expect(b.status).toBe(200);
    expect(last().body.toString()).toBe(evil);
    expect(JSON.stringify(up.requests.map((x) => [x.url, x.headers, x.body.toString()])).split(CANARY).length - 1).toBe(1);
  });

  it('an empty request_body forwards the client body byte for byte with its Content-Type', async () => {
    const body = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x20, 0xc3, 0xa9, 0x7d, 0x0a]);
    await h.exec('passthrough', { method: 'POST', body, headers: { 'content-type': 'application/vnd.x+json; charset=utf-8' } });
    expect(last().body.equals(body)).toBe(true);
    expect(last().headers['content-type']).toBe('application/vnd.x+json; charset=utf-8');
  });

  it('a request_body template renders from body_text and is sent as application/json', async () => {
    const token = await h.session();
    const r = await h.exec('templated-body', { method: 'POST', token, body: JSON.stringify({ order: { id: 17 } }), headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(200);
    expect(JSON.parse(last().body.toString())).toEqual({ tenant: 'acme', order: 17, raw: 'False', who: 'jo@example.com' });
    expect(last().headers['content-type']).toBe('application/json');
  });

  it('body_text and body_raw are None without a body', async () => {
    await h.exec('body-none', { method: 'POST' });
    expect(last().body.toString()).toBe('None|None');
  });

  it('a request template error is 422 TEMPLATE_ERROR, scope Configuration (template rendering), before any upstream traffic', async () => {
    const r = await h.exec('templated-body', { method: 'POST', body: 'not json' });
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({ success: false, errors: { code: 'TEMPLATE_ERROR', scope: 'Configuration (template rendering)' } });
    expect(up.requests).toHaveLength(0);
  });

  it('a blank response template passes the upstream body and Content-Type through', async () => {
    const r = await h.exec('public');
    expect(r.headers.get('content-type')).toBe('application/json');
    expect(r.json.path).toBe('/public');
  });

  it('the response template runs on every status; the upstream status passes through', async () => {
    const ok = await h.exec('reshape');
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('["a", "b"]');
    expect(ok.headers.get('content-type')).toBe('application/json');
    const bad = await h.exec('reshape', { query: '?status=503' });
    expect(bad.status).toBe(503);
    expect(bad.text).toBe('{"error": true, "status": 503, "ct": "text/plain"}');
  });

  it('a response render error is 422 with scope Configuration (response template rendering)', async () => {
    const r = await h.exec('broken-response', { query: '?status=500' });
    expect(r.status).toBe(422);
    expect(r.json).toMatchObject({ errors: { code: 'TEMPLATE_ERROR', scope: 'Configuration (response template rendering)' } });
  });

  it('Jinja2 semantics in response templates: method shadowing, loop scoping, namespace, None', async () => {
    await h.createConnector('acme', {
      name: 'Semantics',
      url: `${up.url}/items`,
      response_body:
        '{% set data = response.body | from_json %}{{ data.items is callable }}|{{ data["items"] | length }}|{% set n = 0 %}{% for i in data["items"] %}{% set n = n + 1 %}{% endfor %}{{ n }}|{% set ns = namespace(c=0) %}{% for i in data["items"] if i.id != "a" %}{% set ns.c = ns.c + 1 %}{% endfor %}{{ ns.c }}|{{ user.email }}',
    });
    expect((await h.exec('semantics')).text).toBe('True|2|0|1|None');
  });

  it('response.headers keys are lower-case; response.body is None for non-UTF-8', async () => {
    expect((await h.exec('binary')).text).toBe('True');
  });

  it('upstream Set-Cookie never reaches the caller; a 3xx is handed back with its Location (redirects are never followed)', async () => {
    const r = await h.exec('reshape', { query: '?status=404' });
    expect(r.headers.get('set-cookie')).toBeNull();
    const redirect = await fetch(`${h.url}/t/acme/connectors/redirect/execute`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toBe('https://elsewhere.example/next');
  });

  it('user.* and tenant_id come from the verified session; profile_fields.by_id(n) reads field n, None when the user lacks it', async () => {
    const r = await h.exec('whoami', { token: await h.session() });
    expect(r.status).toBe(200);
    expect(last().query.get('department')).toBe('Sales');
    const other = await h.exec('whoami', { token: await h.session({ profile_fields: { '42': 'Engineering', '7': 'x' } }) });
    expect(other.status).toBe(200);
    expect(last().query.get('department')).toBe('Engineering');
    // a missing field is None, printed as Jinja2 prints None (decision: documented in docs/templates.md)
    const lacking = await h.exec('whoami', { token: await h.session({ profile_fields: { '7': 'x' } }) });
    expect(lacking.status).toBe(200);
    expect(last().query.get('department')).toBe('None');
  });

  it('an anonymous caller of a connector using user.* is rejected with 401 AUTHENTICATION_REQUIRED before any upstream call', async () => {
    const r = await h.exec('whoami');
    expect(r.status).toBe(401);
    expect(r.json).toMatchObject({ success: false, errors: { code: 'AUTHENTICATION_REQUIRED' } });
    expect(up.requests).toHaveLength(0);
  });

  it('a present but invalid or foreign-tenant session is 401 INVALID_SESSION, never anonymous', async () => {
    const foreign = await h.session({ tid: 'other' });
    expect((await h.exec('public', { token: foreign })).json.errors.code).toBe('INVALID_SESSION');
    expect((await h.exec('public', { token: 'a.b.c' })).status).toBe(401);
    expect(up.requests).toHaveLength(0);
  });

  it('a method other than the configured one → 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const r = await h.exec('public', { method: 'POST', body: '{}' });
    expect(r.status).toBe(405);
    expect(r.headers.get('allow')).toBe('GET');
    expect(r.json.errors.code).toBe('METHOD_NOT_ALLOWED');
  });

  it('unknown permalink or tenant → 404 CONNECTOR_NOT_FOUND; another tenant cannot call it', async () => {
    expect((await h.exec('nope')).json).toMatchObject({ success: false, errors: { code: 'CONNECTOR_NOT_FOUND' } });
    expect((await h.exec('public', { tenant: 'other' })).status).toBe(404);
    expect((await h.exec('public', { tenant: 'no-such-tenant' })).status).toBe(404);
  });

  it('a Content-Type that is not a media type → 415 UNSUPPORTED_MEDIA_TYPE (not "INTERNAL"), nothing sent upstream', async () => {
    for (const ct of [';;;', 'a b', '/']) {
      const r = await h.exec('passthrough', { method: 'POST', body: 'x', headers: { 'content-type': ct } });
      expect(r.status).toBe(415);
      expect(r.json).toMatchObject({ success: false, errors: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
      expect(r.headers.get('x-request-id')).toBe(r.json.request_id);
      expect(r.headers.get('x-connector-timing')).not.toBeNull();
    }
    expect(up.requests).toHaveLength(0);
  });

  it('a body over 1 MiB → 413 PAYLOAD_TOO_LARGE in the runtime envelope', async () => {
    const r = await h.exec('passthrough', { method: 'POST', body: Buffer.alloc(1024 * 1024 + 1, 97), headers: { 'content-type': 'text/plain' } });
    expect(r.status).toBe(413);
    expect(r.json).toMatchObject({ success: false, errors: { code: 'PAYLOAD_TOO_LARGE' } });
    expect(r.headers.get('x-request-id')).toBe(r.json.request_id);
  });

  it('execute URLs fastify cannot route still answer in the runtime envelope with every header: other methods → 405 + Allow, undecodable or over-long segments → 404', async () => {
    const raw = (method: string, path: string) =>
      new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; json: any }>((resolve, reject) => {
        const req = httpRequest(`${h.url}${path}`, { method, headers: { origin: 'https://widgets.example' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode!, headers: res.headers, json: text === '' ? undefined : JSON.parse(text) });
          });
        });
        req.on('error', reject);
        req.end();
      });
    const cases: [string, string, number, string, string | undefined][] = [
      ['PROPFIND', '/t/acme/connectors/public/execute', 405, 'METHOD_NOT_ALLOWED', 'GET'],
      ['TRACE', '/t/acme/connectors/public/execute', 405, 'METHOD_NOT_ALLOWED', 'GET'],
      ['PROPFIND', '/t/acme/connectors/nope/execute', 404, 'CONNECTOR_NOT_FOUND', undefined],
      ['GET', '/t/acme/connectors/%E0/execute', 404, 'CONNECTOR_NOT_FOUND', undefined],
      ['GET', `/t/acme/connectors/${'a'.repeat(1100)}/execute`, 404, 'CONNECTOR_NOT_FOUND', undefined],
      ['POST', '/t/acme/composite-connectors/%E0/execute', 404, 'CONNECTOR_NOT_FOUND', undefined],
    ];
    for (const [method, path, status, code, allow] of cases) {
      const r = await raw(method, path);
      expect([method, path.slice(0, 40), r.status]).toEqual([method, path.slice(0, 40), status]);
      expect(r.json).toMatchObject({ success: false, errors: { code } });
      expect(r.headers['x-request-id']).toBe(r.json.request_id);
      expect(r.headers['x-cache']).toBe('BYPASS');
      expect(r.headers['server-timing']).toContain('total;dur=');
      expect(JSON.parse(r.headers['x-connector-timing'] as string).request_id).toBe(r.json.request_id);
      expect(r.headers['access-control-allow-origin']).toBe('https://widgets.example');
      expect(r.headers.allow).toBe(allow);
    }
    expect(up.requests).toHaveLength(0);
    // Outside the runtime an undecodable URL is still a JSON answer with a request id.
    const admin = await raw('GET', '/admin/v1/%E0');
    expect(admin.status).toBe(400);
    expect(admin.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(admin.json).toMatchObject({ error: { code: 'BAD_URL' } });
  });

  it('the header block of an answer: x-request-id first, each header once with a lower-case name, content-length last and exact', async () => {
    const raw = (method: string, path: string) =>
      new Promise<{ status: number; rawHeaders: string[]; body: Buffer }>((resolve, reject) => {
        const req = httpRequest(`${h.url}${path}`, { method, headers: { origin: 'https://widgets.example' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode!, rawHeaders: res.rawHeaders, body: Buffer.concat(chunks) }));
        });
        req.on('error', reject);
        req.end();
      });
    // A MISS, then the same request as a HIT (from memory), an error envelope, and an upstream status passed through.
    for (const [path, status] of [
      ['/t/acme/connectors/public/execute', 200],
      ['/t/acme/connectors/public/execute', 200],
      ['/t/acme/connectors/nope/execute', 404],
    ] as const) {
      const r = await raw('GET', path);
      expect(r.status).toBe(status);
      const names = r.rawHeaders.filter((_, i) => i % 2 === 0);
      const value = (name: string) => r.rawHeaders[r.rawHeaders.indexOf(name) + 1];
      expect(names[0]).toBe('x-request-id');
      expect(value('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      // Node adds Date, Connection and Keep-Alive itself; every other name is the answer's own.
      const ours = names.filter((n) => n !== 'Date' && n !== 'Connection' && n !== 'Keep-Alive');
      for (const name of ours) expect(name).toBe(name.toLowerCase());
      expect(new Set(ours).size).toBe(ours.length);
      expect(ours.at(-1)).toBe('content-length');
      expect(Number(value('content-length'))).toBe(r.body.length);
      for (const name of ['x-cache', 'server-timing', 'x-connector-timing', 'content-type', 'access-control-allow-origin', 'vary']) expect(names).toContain(name);
      expect(JSON.parse(value('x-connector-timing')!).request_id).toBe(value('x-request-id'));
    }
    // HEAD of a GET connector: 405 with Allow, and no body.
    const head = await raw('HEAD', '/t/acme/connectors/public/execute');
    expect(head.status).toBe(405);
    expect(head.body.length).toBe(0);
    expect(head.rawHeaders[head.rawHeaders.indexOf('allow') + 1]).toBe('GET');
  });

  it('every response, errors included, carries X-Request-ID, Server-Timing, X-Connector-Timing and X-Cache', async () => {
    for (const r of [await h.exec('public'), await h.exec('nope'), await h.exec('whoami'), await h.exec('public', { method: 'DELETE' })]) {
      expect(r.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      expect(r.headers.get('x-cache')).toMatch(/^(HIT|MISS|REVALIDATED|BYPASS)$/);
      expect(r.headers.get('server-timing')).toMatch(/setup;dur=[\d.]+;desc="Setup", transform;dur=[\d.]+;desc="Template", cache;dur=[\d.]+;desc="Cache [A-Za-z]+".*total;dur=[\d.]+;desc="Total"/);
      const t = JSON.parse(r.headers.get('x-connector-timing')!);
      expect(t.request_id).toBe(r.headers.get('x-request-id'));
      expect(Object.keys(t.breakdown).sort()).toEqual(['cache_ms', 'http_request_ms', 'setup_ms', 'transform_ms']);
      expect(typeof t.total_ms).toBe('number');
      expect(typeof t.internal_ms).toBe('number');
      expect(typeof t.external_ms).toBe('number');
      expect(typeof t.cache_hit).toBe('boolean');
    }
    const ok = await h.exec('public');
    const t = JSON.parse(ok.headers.get('x-connector-timing')!);
    expect(t.external_host).toBe(new URL(up.url).host);
    expect(ok.headers.get('server-timing')).toContain(`external;dur=`);
    expect(ok.headers.get('server-timing')).toContain(`desc="${new URL(up.url).host}"`);
  });

  it('CORS follows the tenant allowed_origins (preflight and actual request)', async () => {
    const pre = await fetch(`${h.url}/t/acme/connectors/public/execute`, {
      method: 'OPTIONS',
      headers: { origin: 'https://widgets.example', 'access-control-request-method': 'GET', 'access-control-request-headers': 'authorization, x-path-params' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://widgets.example');
    expect(pre.headers.get('access-control-allow-headers')).toBe('authorization, x-path-params');
    const denied = await fetch(`${h.url}/t/acme/connectors/public/execute`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'GET' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
    const ok = await h.exec('public', { headers: { origin: 'https://widgets.example' } });
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://widgets.example');
    expect(ok.headers.get('access-control-expose-headers')).toContain('X-Connector-Timing');
    const err = await h.exec('nope', { headers: { origin: 'https://widgets.example' } });
    expect(err.headers.get('access-control-allow-origin')).toBe('https://widgets.example');
    expect((await h.exec('public', { headers: { origin: 'https://evil.example' } })).headers.get('access-control-allow-origin')).toBeNull();
  });

  it('HEAD connectors answer without a body', async () => {
    await h.createConnector('acme', { name: 'Head Probe', url: `${up.url}/public`, method: 'HEAD' });
    const r = await h.exec('head-probe', { method: 'HEAD' });
    expect(r.status).toBe(200);
    expect(r.text).toBe('');
    expect(last().method).toBe('HEAD');
  });

  it('the canary secret never appears in a response body, response header or log line', async () => {
    const responses = [await h.exec('echo'), await h.exec('echo', { query: '?limit=bad' }), await h.exec('reshape', { query: '?status=500' })];
    for (const r of responses) {
      expect(r.text).not.toContain(CANARY);
      expect([...r.headers.entries()].flat().join('\n')).not.toContain(CANARY);
    }
    expect(h.logs.length).toBeGreaterThan(0);
    expect(h.logs.join('\n')).not.toContain(CANARY);
  });

  it('each call reaches the URL its own values resolve to (the remembered parse never leaks between calls)', async () => {
    const sequence = ['?q=a', '?q=b', '?q=a', '', '?q=a&x=1', '?q=a', '?x=1&q=a', '?q=a%20b', '?q=a+b'];
    for (const query of sequence) {
      const r = await h.exec('public', { query });
      expect(r.status).toBe(200);
      const expected = new URLSearchParams(query);
      expect(last().query.getAll('q')).toEqual(expected.has('q') ? expected.getAll('q') : ['x']);
      expect(last().query.getAll('x')).toEqual(expected.getAll('x'));
    }
    // Whoami builds its URL from the user: two users in turn each reach their own path.
    for (const sub of ['u-1', 'u-2', 'u-1']) {
      const r = await h.exec('whoami', { token: await h.session({ sub, email: `${sub}@example.com` }) });
      expect(r.status).toBe(200);
      expect(last().path).toBe(`/users/${sub}/profile`);
      expect(last().query.get('email')).toBe(`${sub}@example.com`);
    }
  });

  it('a URL built with a secret is never remembered beyond its request', async () => {
    await h.createConnector('acme', { name: 'Secret Query', url: `${up.url}/echo`, query_parameters: [{ key: 'key', value: "{{ get_secret('api_key') }}", overridable: false }] });
    await h.createConnector('acme', { name: 'Plain Query', url: `${up.url}/echo`, query_parameters: [{ key: 'key', value: 'visible', overridable: false }] });
    expect((await h.exec('secret-query')).status).toBe(200);
    expect(last().query.get('key')).toBe(CANARY);
    expect((await h.exec('plain-query')).status).toBe(200);
    const { runtimeFor } = await import('../../src/runtime/index.js');
    const entry = (await runtimeFor(h.services).connectors.get('acme', 'secret-query'))!;
    expect(entry.compiled.kind === 'connector' && entry.compiled.lastUrl).toBeUndefined();
    const plain = (await runtimeFor(h.services).connectors.get('acme', 'plain-query'))!;
    expect(plain.compiled.kind === 'connector' && plain.compiled.lastUrl?.url.searchParams.get('key')).toBe('visible');
  });

  it('a malformed HTTP request (body shorter than its Content-Length) is 400 BAD_REQUEST in the runtime envelope, never INTERNAL', async () => {
    const r = await h.app.inject({ method: 'POST', url: '/t/acme/connectors/echo/execute', payload: 'abc', headers: { 'content-length': '10', 'content-type': 'text/plain' } });
    expect(r.statusCode).toBe(400);
    expect(JSON.parse(r.body)).toMatchObject({ success: false, errors: { code: 'BAD_REQUEST', detail: expect.stringContaining('Content-Length') } });
    for (const name of ['x-request-id', 'server-timing', 'x-connector-timing', 'x-cache']) expect(r.headers[name]).toBeTruthy();
  });

  it('the request log lines of an execution carry its request id', async () => {
    const r = await h.exec('public');
    const id = r.headers.get('x-request-id')!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const mine = h.logs.flatMap((l) => l.split('\n')).filter((l) => l.includes(id)).map((l) => JSON.parse(l) as { request_id?: string; msg?: string });
    expect(mine.map((l) => l.msg)).toEqual(expect.arrayContaining(['incoming request', 'request completed']));
    for (const l of mine) expect(l.request_id).toBe(id);
  });
});
