import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { testCommand } from '../../src/widget-dev/test-command.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * `gatehouse test <permalink>` against a real Gatehouse and a real upstream: local-first
 * resolution, the request options, exit codes, kept runs, and each way it can fail.
 */

const SECRET = 'cli-test-secret-value-5d1f';

/** A loopback port nothing listens on (bound once, then released). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

describe('gatehouse test', () => {
  let svc: TestService;
  let up: TestUpstream;
  let dir: string;
  let home: string;
  let file: string;

  async function gh(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const out = { stdout: '', stderr: '' };
    const sink = (key: 'stdout' | 'stderr') => new Writable({ write(chunk: Buffer, _enc, done) { out[key] += chunk.toString('utf8'); done(); } });
    const code = await testCommand(args, { stdout: sink('stdout'), stderr: sink('stderr') }, {
      GATEHOUSE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
      GATEHOUSE_URL: svc.url,
      GATEHOUSE_HOME: home,
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      ...env,
    });
    return { code, ...out };
  }

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    up.route('/items/7', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'set-cookie': 'sid=upstream-cookie' });
      res.end(JSON.stringify({ id: '7', q: req.query.get('q'), key: req.headers['x-api-key'] === SECRET, who: req.headers['x-user'] ?? null, body: req.body.toString('utf8') }));
    });
    up.route('/missing', (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"error": "no such thing"}');
    });
    svc = await startTestService({ env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
    const call = (method: string, path: string, body: unknown) =>
      fetch(`${svc.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/api_key', { value: SECRET })).status).toBe(201);
    expect((await call('POST', '/tenants/acme/connectors', { name: 'Remote Item', url: `${up.url}/items/7` })).status).toBe(201);

    dir = mkdtempSync(join(tmpdir(), 'gh-test-cmd-'));
    home = join(dir, '.gatehouse');
    file = join(dir, 'connectors_registry.json');
    writeFileSync(file, JSON.stringify({
      connectors: [
        {
          name: 'Item',
          url: `${up.url}/items/{{ pathParams.id }}`,
          method: 'POST',
          path_parameters: [{ key: 'id' }],
          headers: [{ key: 'X-User', value: '{{ user.email }}' }],
          authentication: { type: 'api_key', config: { key: 'X-Api-Key', value: "{{ get_secret('api_key') }}", in: 'header' } },
        },
        { name: 'Missing', url: `${up.url}/missing` },
        { name: 'Remote Item', url: `${up.url}/missing` },
      ],
      composite_connectors: [{ name: 'Pair', steps: [{ name: 'one', url: `${up.url}/items/7` }, { name: 'two', url: `${up.url}/items/7`, response_body: 'two after {{ (steps.one.body | from_json).id }}' }] }],
    }, null, 2));
  });
  afterAll(async () => {
    await svc.close();
    await up.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  it('runs a local connector with path, query, header, payload and a stand-in user; secrets stay on the server; the run is kept redacted', async () => {
    const payload = join(dir, 'body.json');
    writeFileSync(payload, '{"note": "hello"}');
    const user = join(dir, 'claims.json');
    writeFileSync(user, '{"sub": "u1", "email": "jo@example.com"}');
    const r = await gh(['item', '--tenant', 'acme', '--file', file, '--path-param', 'id=7', '--query', 'q=shoes', '--header', 'X-Session-Token=abc123', '--payload', `@${payload}`, '--as-user', user]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const [source, status, ...rest] = r.stdout.split('\n');
    expect(source).toBe('source: local');
    expect(status).toBe('status: 200');
    expect(JSON.parse(rest.join('\n'))).toEqual({ id: '7', q: 'shoes', key: true, who: 'jo@example.com', body: '{"note":"hello"}' });
    expect(r.stdout).not.toContain(SECRET);

    const runs = readdirSync(join(home, 'runs'));
    expect(runs).toHaveLength(1);
    const kept = readFileSync(join(home, 'runs', runs[0]!), 'utf8');
    const record = JSON.parse(kept);
    expect(record).toMatchObject({ tenant: 'acme', permalink: 'item', source: 'local', response: { status: 200 } });
    expect(record.request.headers).toEqual({ 'X-Session-Token': '[redacted]' });
    expect(kept).not.toContain('abc123');
    expect(kept).not.toContain(SECRET);
  });

  it('runs a local composite connector', async () => {
    const r = await gh(['pair', '--tenant', 'acme', '--file', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('source: local\nstatus: 200\ntwo after 7\n');
  });

  it('the local file wins over the tenant; a permalink only the tenant has runs remotely', async () => {
    const local = await gh(['remote-item', '--tenant', 'acme', '--file', file]);
    expect(local.stdout).toMatch(/^source: local\nstatus: 404\n/);
    expect(local.code).toBe(1);
    const remote = await gh(['remote-item', '--tenant', 'acme', '--file', join(dir, 'absent.json')]);
    expect(remote.code).toBe(1);
    expect(remote.stderr).toMatch(/cannot read the local registry file .*absent\.json: no such file/);
    // Without --file and without ./connectors_registry.json in the working directory: the tenant's.
    const cwd = process.cwd();
    process.chdir(mkdtempSync(join(tmpdir(), 'gh-test-empty-')));
    try {
      const r = await gh(['remote-item', '--tenant', 'acme']);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^source: remote\nstatus: 200\n/);
    } finally {
      process.chdir(cwd);
    }
  });

  it('a non-2xx answer exits 1; --json prints the whole result; --verbose adds the debug request and timing', async () => {
    const missing = await gh(['missing', '--tenant', 'acme', '--file', file, '--json']);
    expect(missing.code).toBe(1);
    const json = JSON.parse(missing.stdout);
    expect(json).toMatchObject({ source: 'local', permalink: 'missing', ok: false, status: 404, body: '{"error": "no such thing"}' });
    expect(json.debug.url).toBe(`${up.url}/missing`);
    const user = join(dir, 'claims.json');
    const verbose = await gh(['item', '--tenant', 'acme', '--file', file, '--path-param', 'id=7', '--as-user', user, '--verbose']);
    expect(verbose.code).toBe(0);
    expect(verbose.stdout).toContain('debug request (X-Debug-Request):');
    expect(verbose.stdout).toContain(`"url": "${up.url}/items/7"`);
    expect(verbose.stdout).toContain('"value": "**********"');
    expect(verbose.stdout).toContain('timing (X-Connector-Timing):');
    expect(verbose.stdout).not.toContain(SECRET);
  });

  it('says which: not defined anywhere, unreachable server, wrong token, invalid local file, inline payload', async () => {
    const nowhere = await gh(['nope', '--tenant', 'acme', '--file', file]);
    expect(nowhere.code).toBe(1);
    expect(nowhere.stderr).toBe('gatehouse test: Connector "nope" is not defined in this project, and your tenant has no persisted connector under that name.\n');

    const closed = await closedPort();
    const unreachable = await gh(['item', '--tenant', 'acme', '--file', file, '--server', `http://127.0.0.1:${closed}`]);
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain(`cannot reach Gatehouse at http://127.0.0.1:${closed}: ECONNREFUSED`);

    const wrongToken = await gh(['item', '--tenant', 'acme', '--file', file], { GATEHOUSE_ADMIN_TOKEN: 'not-the-admin-token-0000' });
    expect(wrongToken.code).toBe(1);
    expect(wrongToken.stderr).toMatch(/refused the admin token \(403 FORBIDDEN\)/);

    const broken = join(dir, 'broken.json');
    writeFileSync(broken, '{"connectors": [{"name": "X", "url": "https://x.example.com", "method": "FETCH"}]}');
    const invalid = await gh(['x', '--tenant', 'acme', '--file', broken]);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/broken\.json:1:\d+: \/connectors\/0\/method: "FETCH" is not a supported HTTP method/);
    expect(invalid.stderr).toMatch(/the local registry file .*broken\.json is invalid \(1 error\)/);

    const inline = await gh(['item', '--tenant', 'acme', '--file', file, '--payload', '{"a": 1}']);
    expect(inline.code).toBe(2);
    expect(inline.stderr).toMatch(/--payload takes a file reference, --payload @body\.json: inline JSON is not accepted/);
    const unknownTenant = await gh(['item', '--tenant', 'ghost', '--file', file, '--path-param', 'id=7']);
    expect(unknownTenant.code).toBe(1);
    expect(unknownTenant.stderr).toMatch(/the server did not run the test: no tenant "ghost"/);
  });

  it('is listed by gatehouse --help and answers --help', async () => {
    const out = { text: '' };
    const sink = new Writable({ write(chunk: Buffer, _enc, done) { out.text += chunk.toString('utf8'); done(); } });
    expect(await main(['--help'], { stdout: sink, stderr: sink })).toBe(0);
    expect(out.text).toMatch(/^ {2}test <permalink>/m);
    out.text = '';
    expect(await main(['test', '--help'], { stdout: sink, stderr: sink })).toBe(0);
    expect(out.text).toMatch(/^usage: gatehouse test <permalink>/);
  });
});
