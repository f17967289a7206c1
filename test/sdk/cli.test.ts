import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { createConnectorsClient, type FixturesDocument } from '../../sdk/src/connectors.js';
import { SESSION_SECRET } from '../runtime/harness.js';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { API_KEY_SECRET, startSdkScenario, type SdkScenario } from './scenario.js';

/**
 * The widget developer commands against a real Gatehouse: `gatehouse types` (checked by running
 * tsc on a sample widget), `gatehouse fixtures record|check` (with a canary for credentials), and
 * `gatehouse session-token`.
 */

const SDK_TYPES = join(process.cwd(), 'sdk', 'dist', 'connectors.js');
const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const sink = (add: (s: string) => void) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        add(chunk.toString('utf8'));
        cb();
      },
    });
  const code = await main(argv, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  return { code, out, err };
}

/**
 * The fixtures canary: the secret the connector sends, the upstream's cookie carrying it, the
 * session token, the admin token, the session secret and any Authorization header stay out of a file.
 */
function expectNoCredentials(text: string, sessionToken: string): void {
  expect(text).not.toContain(API_KEY_SECRET);
  expect(text).not.toContain(sessionToken);
  expect(text).not.toContain(TEST_ADMIN_TOKEN);
  expect(text).not.toContain(SESSION_SECRET);
  expect(text).not.toMatch(/"authorization"\s*:/i);
  expect(text).not.toMatch(/Bearer ey/);
  expect(text.toLowerCase()).not.toContain('x-api-key');
  expect(text.toLowerCase()).not.toContain('set-cookie');
}

const REGISTRY = {
  connectors: [
    {
      name: 'Weather */ comment-safe',
      permalink: 'weather',
      url: 'https://api.weather.example/v1/{{ pathParams.city }}/{{ pathParams.units }}/{{ pathParams.version }}',
      path_parameters: [{ key: 'city' }, { key: 'units', value: 'metric' }, { key: 'version', value: 'v2', overridable: false }],
      query_parameters: [
        { key: 'q', value: '', overridable: true },
        { key: 'appid', value: "{{ get_secret('weather_key') }}", overridable: false },
      ],
      headers: [{ key: 'Accept-Language', value: 'en', overridable: true }, { key: 'X-Client', value: 'gatehouse', overridable: false }],
    },
    { name: 'Contacts', permalink: 'contacts', method: 'POST', url: 'https://crm.example/contacts' },
  ],
  composite_connectors: [{ name: 'Dashboard', permalink: 'dashboard', steps: [{ name: 'one', url: 'https://api.weather.example/a' }] }],
};

describe('gatehouse types', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-types-'));
  const registry = join(dir, 'connectors_registry.json');
  writeFileSync(registry, JSON.stringify(REGISTRY, null, 2));

  it('writes declarations per permalink: method, required/optional path params, settable query params and headers', async () => {
    const r = await run('types', registry, '--out', join(dir, 'connectors.d.ts'));
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/3 connectors from .*connectors_registry\.json → .*connectors\.d\.ts/);
    const text = readFileSync(join(dir, 'connectors.d.ts'), 'utf8');
    expect(text).toContain('"weather": {');
    expect(text).toContain('method: "GET";');
    expect(text).toContain('pathParams: { "city": string | number; "units"?: string | number };');
    expect(text).toContain('queryParams: { "q"?: string; "appid"?: never; [key: string]: string | undefined };');
    expect(text).toContain('headers: { "Accept-Language"?: string };');
    expect(text).toContain('"dashboard": { queryParams');
    expect(text).not.toMatch(/Weather \*\/ comment/);
  });

  it('tsc rejects a wrong method, a missing path parameter and other mistakes in a sample widget, and accepts correct calls', async () => {
    const r = await run('types', registry, '--out', join(dir, 'connectors.d.ts'));
    expect(r.code).toBe(0);
    const header = `import { createConnectorsClient } from ${JSON.stringify(SDK_TYPES)};\nimport type { GatehouseConnectors } from './connectors.js';\nconst client = createConnectorsClient<GatehouseConnectors>({ baseUrl: 'https://gatehouse.example', tenant: 'acme' });\n`;
    const widgets: Record<string, string> = {
      'correct.ts':
        'export async function run() {\n' +
        "  await client.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'Warsaw' }, queryParams: { q: 'Warsaw', page: '2' }, headers: { 'Accept-Language': 'pl' } });\n" +
        "  await client.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 2950159, units: 'imperial' } });\n" +
        "  await client.execute({ permalink: 'contacts', method: 'POST', payload: { firstName: 'Ada' } });\n" +
        "  await client.composite.execute({ permalink: 'dashboard', payload: { a: 1 }, queryParams: { city: 'Lima' } });\n" +
        '}\n',
      'wrong-method.ts': "export const p = client.execute({ permalink: 'weather', method: 'POST', pathParams: { city: 'Warsaw' } });\n",
      'missing-path-param.ts': "export const p = client.execute({ permalink: 'weather', method: 'GET', queryParams: { q: 'x' } });\n",
      'unknown-permalink.ts': "export const p = client.execute({ permalink: 'wether', method: 'GET' });\n",
      'pinned-query.ts': "export const p = client.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'x' }, queryParams: { appid: 'mine' } });\n",
      'undeclared-header.ts': "export const p = client.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'x' }, headers: { 'X-Client': 'me' } });\n",
      'payload-on-get.ts': "export const p = client.execute({ permalink: 'weather', method: 'GET', pathParams: { city: 'x' }, payload: { a: 1 } });\n",
    };
    for (const [name, body] of Object.entries(widgets)) writeFileSync(join(dir, name), header + body);
    const args = [TSC, '--noEmit', '--pretty', 'false', '--strict', '--target', 'es2020', '--lib', 'es2020,dom', '--module', 'esnext', '--moduleResolution', 'bundler', ...Object.keys(widgets).map((n) => join(dir, n))];
    const result = await promisify(execFile)(process.execPath, args, { cwd: dir }).then(
      () => ({ stdout: '' }),
      (e: { stdout: string }) => ({ stdout: e.stdout }),
    );
    const errorsOf = (file: string) => result.stdout.split('\n').filter((l) => l.includes(`${file}(`));
    expect(errorsOf('correct.ts')).toEqual([]);
    expect(errorsOf('wrong-method.ts').join('\n')).toMatch(/error TS2322: Type '"POST"' is not assignable to type '"GET"'/);
    // tsc names the whole options type here; the call differs from a correct one only by pathParams.
    expect(errorsOf('missing-path-param.ts').join('\n')).toMatch(/missing-path-param\.ts\(4,\d+\): error TS2345: .*pathParams: \{ city: string \| number;/);
    expect(errorsOf('unknown-permalink.ts').join('\n')).toContain(`error TS2820: Type '"wether"' is not assignable to type '"contacts" | "weather"'. Did you mean '"weather"'?`);
    expect(errorsOf('pinned-query.ts').join('\n')).toMatch(/error TS2322: Type 'string' is not assignable to type 'undefined'/);
    expect(errorsOf('undeclared-header.ts').join('\n')).toMatch(/error TS2353: .*'X-Client'' does not exist/);
    expect(errorsOf('payload-on-get.ts').join('\n')).toMatch(/error TS2322/);
    // A real tsc process loading the DOM library: tens of seconds on a busy machine.
  }, 180_000);

  it('an unknown --connector is named, with what exists, exit 1; an invalid registry file exits 1 with positions', async () => {
    const r = await run('types', registry, '--connector', 'weather', '--connector', 'nope');
    expect(r.code).toBe(1);
    expect(r.err).toContain('gatehouse types: "nope": no such connector in');
    expect(r.err).toContain('it has: contacts, dashboard, weather');
    const only = await run('types', registry, '--connector', 'contacts');
    expect(only.code).toBe(0);
    expect(only.out).toContain('"contacts"');
    expect(only.out).not.toContain('"weather"');
    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"connectors": [\n  {"name": "x", "url": 5}\n]}');
    const bad = await run('types', broken);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/broken\.json:2:\d+: \/connectors\/0\/url: /);
  });
  it('a registry file that is not valid JSON is named with line and column (exit 1), and no declarations are written', async () => {
    const broken = join(dir, 'not-json.json');
    writeFileSync(broken, '{\n  "connectors": [,]\n}\n');
    const out = join(dir, 'not-json.d.ts');
    const bad = await run('types', broken, '--out', out);
    expect(bad.code).toBe(1);
    expect(bad.err).toContain(`${broken}:2:18: `);
    expect(bad.err).toContain('invalid JSON: expected a value');
    expect(existsSync(out)).toBe(false);
  });
});

describe('gatehouse types --tenant, fixtures record, session-token (live Gatehouse)', () => {
  let s: SdkScenario;
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-fixtures-'));
  const tokenFile = join(dir, 'admin.token');
  writeFileSync(tokenFile, `${TEST_ADMIN_TOKEN}\n`);
  const admin = () => ['--server', s.h.url, '--token-file', tokenFile];

  beforeAll(async () => {
    s = await startSdkScenario();
  });
  afterAll(async () => {
    await s?.close();
  });

  it('types --tenant reads the tenant through the admin API: manual and repository connectors, composites', async () => {
    const r = await run('types', '--tenant', 'acme', ...admin());
    expect(r.code).toBe(0);
    expect(r.out).toContain('"weather": {');
    expect(r.out).toContain('pathParams: { "city": string | number; "units"?: string | number };');
    expect(r.out).toContain('"contacts": {\n      method: "POST";');
    expect(r.out).toContain('"dashboard": { queryParams');
    const unknown = await run('types', '--tenant', 'nobody', ...admin());
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/nobody/);
    const missing = await run('types', '--tenant', 'acme', '--connector', 'wether', ...admin());
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('"wether": no such connector in tenant "acme"');
  });

  it('fixtures record: answers (errors included) recorded through Test Connection replay in the client with no network; no credential lands in the file', async () => {
    const fixtures = join(dir, 'fixtures.json');
    const sessionToken = await s.h.session();
    const userFile = join(dir, 'user.json');
    writeFileSync(userFile, JSON.stringify({ id: 'user-42', email: 'jo@example.com' }));
    const common = ['--tenant', 'acme', '--out', fixtures, ...admin()];
    const ok = await run('fixtures', 'record', 'forecast', '--path', 'days=3', '--query', 'city=Lima', '--user', userFile, '--header', `Authorization=Bearer ${sessionToken}`, ...common);
    expect(ok.err).toBe('gatehouse fixtures record: GET forecast → 200, added to ' + fixtures + '\n');
    expect(ok.code).toBe(0);
    const anonymous = await run('fixtures', 'record', 'forecast', '--path', 'days=3', '--query', 'city=Oslo', ...common);
    expect(anonymous.code).toBe(0);
    const post = await run('fixtures', 'record', 'contacts', '--payload', '{"firstName": "Ada"}', ...common);
    expect(post.code).toBe(0);
    const missingParam = await run('fixtures', 'record', 'weather', ...common);
    expect(missingParam.code).toBe(0);
    // The same call again replaces its recording.
    expect((await run('fixtures', 'record', 'forecast', '--path', 'days=3', '--query', 'city=Lima', '--user', userFile, ...common)).err).toMatch(/replaced in/);

    const text = readFileSync(fixtures, 'utf8');
    // Canary: the secret the connector sends, the upstream's cookie carrying it, the session token,
    // the admin token and any Authorization header stay out of the file.
    expect(s.up.requests.some((r) => r.headers['x-api-key'] === API_KEY_SECRET)).toBe(true);
    expectNoCredentials(text, sessionToken);

    const doc = JSON.parse(text) as FixturesDocument;
    expect(doc.connectors!.forecast!.calls).toHaveLength(2);
    expect(doc.connectors!.forecast!.calls[0]).toEqual({ request: { queryParams: { city: 'Lima' }, pathParams: { days: '3' } }, response: { status: 200, contentType: 'application/json', body: { city: 'Lima', days: 3, temps: [21, 19, 23], for_user: 'jo@example.com' } } });
    // `for_user` came back in the body because the upstream put it there: the body is the widget's data.
    expect(doc.connectors!.forecast!.calls[1]!.response.status).toBe(401);

    s.up.requests.length = 0;
    const offline = createConnectorsClient({ baseUrl: `http://127.0.0.1:${s.closedPort}`, tenant: 'acme', fixtures: doc });
    expect(await offline.execute({ permalink: 'forecast', method: 'GET', pathParams: { days: 3 }, queryParams: { city: 'Lima' } })).toMatchObject({ temps: [21, 19, 23] });
    await expect(offline.execute({ permalink: 'forecast', method: 'GET', pathParams: { days: '3' }, queryParams: { city: 'Oslo' } })).rejects.toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
    expect(JSON.parse((await offline.execute({ permalink: 'contacts', method: 'POST', payload: { firstName: 'Ada' } })).body)).toEqual({ firstName: 'Ada' });
    await expect(offline.execute({ permalink: 'weather', method: 'GET' } as never)).rejects.toMatchObject({ status: 400, code: 'MISSING_PATH_PARAMETERS', params: ['city'] });
    expect(s.up.requests).toHaveLength(0);
    expect(await run('fixtures', 'check', fixtures)).toMatchObject({ code: 0, out: `${fixtures}: 4 recorded calls\n` });
  });

  it('fixtures record: a composite runs through Test Connection (secrets and user.* on the server), replays in composite.execute with no network; no credential lands in the file', async () => {
    const fixtures = join(dir, 'composite-fixtures.json');
    const sessionToken = await s.h.session();
    const userFile = join(dir, 'composite-user.json');
    writeFileSync(userFile, JSON.stringify({ id: 'user-7', email: 'ada@example.com' }));
    const common = ['--tenant', 'acme', '--out', fixtures, ...admin()];
    s.up.requests.length = 0;
    const ok = await run('fixtures', 'record', 'forecast-digest', '--query', 'city=Lima', '--payload', '{"widget": "w1"}', '--user', userFile, '--header', `Authorization=Bearer ${sessionToken}`, ...common);
    expect(ok.err).toBe(`gatehouse fixtures record: composite forecast-digest → 200, added to ${fixtures}\n`);
    expect(ok.code).toBe(0);
    // Both steps ran on the server: the first with the secret and the stand-in user's email.
    expect(s.up.requests.map((r) => `${r.method} ${r.path}`)).toEqual(['GET /forecast-data/3', 'POST /digest']);
    expect(s.up.requests[0]!.headers['x-api-key']).toBe(API_KEY_SECRET);
    expect(s.up.requests[0]!.query.get('for_user')).toBe('ada@example.com');
    // Anonymous (no stand-in user) a step using user.* is refused: that error is recorded too, and
    // the same call again replaces its recording.
    expect((await run('fixtures', 'record', 'forecast-digest', '--query', 'city=Oslo', ...common)).err).toMatch(/composite forecast-digest → 401, added to/);
    expect((await run('fixtures', 'record', 'forecast-digest', '--query', 'city=Oslo', ...common)).err).toMatch(/replaced in/);
    // A failing step: the first step's upstream refuses a wrong key.
    await s.h.putSecret('acme', 'weather_key', 'not-the-key');
    const failed = await run('fixtures', 'record', 'forecast-digest', '--query', 'city=Quito', '--user', userFile, ...common);
    await s.h.putSecret('acme', 'weather_key', API_KEY_SECRET);
    expect(failed.err).toMatch(/composite forecast-digest → 502, added to/);
    expect(failed.code).toBe(0);

    const text = readFileSync(fixtures, 'utf8');
    // Canary, as above: also the wrong key the failing step sent.
    expectNoCredentials(text, sessionToken);
    expect(text).not.toContain('not-the-key');

    const doc = JSON.parse(text) as FixturesDocument;
    expect(doc.connectors).toEqual({});
    expect(doc.composites!['forecast-digest']!.calls).toHaveLength(3);
    expect(doc.composites!['forecast-digest']!.calls[0]).toEqual({
      request: { queryParams: { city: 'Lima' }, payload: { widget: 'w1' } },
      response: { status: 200, contentType: 'application/json', body: { temps: [21, 19, 23], widget: { widget: 'w1' } } },
    });

    s.up.requests.length = 0;
    const offline = createConnectorsClient({ baseUrl: `http://127.0.0.1:${s.closedPort}`, tenant: 'acme', fixtures: doc });
    expect(await offline.composite.execute({ permalink: 'forecast-digest', queryParams: { city: 'Lima' }, payload: { widget: 'w1' } })).toEqual({ temps: [21, 19, 23], widget: { widget: 'w1' } });
    await expect(offline.composite.execute({ permalink: 'forecast-digest', queryParams: { city: 'Quito' } })).rejects.toMatchObject({
      name: 'ConnectorExecuteError',
      status: 502,
      scope: expect.stringContaining("Composite step 'data' (index 0)"),
    });
    await expect(offline.composite.execute({ permalink: 'forecast-digest', queryParams: { city: 'Oslo' } })).rejects.toMatchObject({ status: 401, code: 'AUTHENTICATION_REQUIRED' });
    await expect(offline.composite.execute({ permalink: 'forecast-digest', queryParams: { city: 'Paris' } })).rejects.toMatchObject({ status: 404, code: 'FIXTURE_NOT_FOUND' });
    await expect(offline.composite.execute({ permalink: 'dashboard' })).rejects.toMatchObject({ status: 404, code: 'CONNECTOR_NOT_FOUND' });
    expect(s.up.requests).toHaveLength(0);
    expect(await run('fixtures', 'check', fixtures)).toMatchObject({ code: 0, out: `${fixtures}: 3 recorded calls\n` });
  });

  it('fixtures record: an unknown connector or tenant is named (exit 1); a composite refuses --path; a broken file is named with line and column', async () => {
    const fixtures = join(dir, 'other.json');
    const unknown = await run('fixtures', 'record', 'wether', '--tenant', 'acme', '--out', fixtures, ...admin());
    expect(unknown).toMatchObject({ code: 1 });
    expect(unknown.err).toContain('no connector "wether" on tenant "acme"');
    const noTenant = await run('fixtures', 'record', 'weather', '--tenant', 'nobody', '--out', fixtures, ...admin());
    expect(noTenant.code).toBe(1);
    expect(noTenant.err).toContain('no tenant "nobody"');
    const composite = await run('fixtures', 'record', 'dashboard', '--path', 'a=1', '--tenant', 'acme', '--out', fixtures, ...admin());
    expect(composite.code).toBe(2);
    expect(composite.err).toContain('"dashboard" is a composite connector, which takes no path parameters');
    expect(existsSync(fixtures)).toBe(false);

    const broken = join(dir, 'broken-fixtures.json');
    writeFileSync(broken, '{\n  "gatehouse_fixtures": 1,\n  "connectors": {,}\n}\n');
    const bad = await run('fixtures', 'record', 'weather', '--tenant', 'acme', '--out', broken, ...admin());
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3:18: not valid JSON: `));
    const check = await run('fixtures', 'check', broken);
    expect(check.code).toBe(1);
    expect(check.err).toContain(`${broken}:3:18: not valid JSON`);

    // The files the command reads besides: a payload or a stand-in user that is not JSON is named
    // with line and column before anything is called or written.
    const payloadFile = join(dir, 'payload.json');
    writeFileSync(payloadFile, '{"firstName": }');
    const userFile = join(dir, 'broken-user.json');
    writeFileSync(userFile, '{\n  "id": "u-1",\n  "email" "x@example.com"\n}');
    const before = s.up.requests.length;
    const badPayload = await run('fixtures', 'record', 'contacts', '--payload-file', payloadFile, '--tenant', 'acme', '--out', fixtures, ...admin());
    expect(badPayload.code).toBe(1);
    expect(badPayload.err).toContain(`${payloadFile}:1:15: not valid JSON: `);
    const badUser = await run('fixtures', 'record', 'whoami', '--user', userFile, '--tenant', 'acme', '--out', fixtures, ...admin());
    expect(badUser.code).toBe(1);
    expect(badUser.err).toContain(`${userFile}:3:11: not valid JSON: `);
    expect(s.up.requests.length).toBe(before);
    expect(existsSync(fixtures)).toBe(false);
    expect(readFileSync(broken, 'utf8')).toBe('{\n  "gatehouse_fixtures": 1,\n  "connectors": {,}\n}\n');
  });

  it('session-token prints a JWT with tid, sub, exp and user claims that the runtime accepts (user.* reaches the upstream)', async () => {
    const claims = join(dir, 'claims.json');
    writeFileSync(claims, JSON.stringify({ profile_fields: { '42': 'Sales' }, locale: 'pl' }));
    const r = await run('session-token', '--tenant', 'acme', '--sub', 'dev-1', '--email', 'dev@example.com', '--first-name', 'Dev', '--claims', claims, '--ttl', '30m', ...admin());
    expect(r.code).toBe(0);
    const token = r.out.trim();
    const { payload } = await jwtVerify(token, new TextEncoder().encode(SESSION_SECRET));
    expect(payload).toMatchObject({ tid: 'acme', sub: 'dev-1', email: 'dev@example.com', first_name: 'Dev', profile_fields: { '42': 'Sales' }, locale: 'pl' });
    expect(payload.exp! - payload.iat!).toBe(1800);
    const client = createConnectorsClient({ baseUrl: s.h.url, tenant: 'acme', getSessionToken: () => token });
    const answer = await client.execute({ permalink: 'whoami', method: 'GET' });
    expect(answer.query.user_id).toBe('dev-1');
    expect(answer.headers['x-user-email']).toBe('dev@example.com');
  });

  it('session-token is refused with a clear message for a JWKS tenant, an unknown tenant, reserved claims, a bad --ttl', async () => {
    expect((await s.h.admin('PUT', '/tenants/jwks-co', { name: 'JWKS Co', session: { jwks_url: 'https://login.jwks-co.example/.well-known/jwks.json' }, allowed_origins: [] })).status).toBe(201);
    const jwks = await run('session-token', '--tenant', 'jwks-co', '--sub', 'u', ...admin());
    expect(jwks.code).toBe(1);
    expect(jwks.err).toContain('tenant "jwks-co" verifies session tokens with the JWKS at https://login.jwks-co.example/.well-known/jwks.json');
    expect(jwks.err).toContain('409 SESSION_NOT_HS256');
    const nobody = await run('session-token', '--tenant', 'nobody', '--sub', 'u', ...admin());
    expect(nobody.code).toBe(1);
    expect(nobody.err).toMatch(/nobody/);
    const claims = join(dir, 'tid-claims.json');
    writeFileSync(claims, '{"tid": "other"}');
    const reserved = await run('session-token', '--tenant', 'acme', '--sub', 'u', '--claims', claims, ...admin());
    expect(reserved.code).toBe(1);
    expect(reserved.err).toContain('claims may not set tid');
    expect((await run('session-token', '--tenant', 'acme', '--sub', 'u', '--ttl', '2d', ...admin())).code).toBe(2);
    expect((await run('session-token', '--tenant', 'acme', ...admin())).code).toBe(2);
    const unreachable = await run('session-token', '--tenant', 'acme', '--sub', 'u', '--server', `http://127.0.0.1:${s.closedPort}`, '--token-file', tokenFile);
    expect(unreachable.code).toBe(1);
    expect(unreachable.err).toContain(`cannot reach Gatehouse at http://127.0.0.1:${s.closedPort}`);
  });
});
