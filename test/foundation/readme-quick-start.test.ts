import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServe, type ServeProcess } from '../support/serve-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * README "Your first connector in five minutes": the shell blocks marked `<!-- quick-start -->`
 * are taken from the README itself and run with bash against the real `gatehouse serve` binary,
 * JSONPlaceholder replaced by a local server on 127.0.0.1 — so the quick start cannot rot.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN_TOKEN = 'quick-start-admin-token-0123456789';
const PUBLIC_API = 'https://jsonplaceholder.typicode.com';
const README_SERVICE = 'http://127.0.0.1:8080';

const readme = readFileSync(join(root, 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/<!-- quick-start -->\n```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);

/** Three users shaped like JSONPlaceholder's (only the fields the template reads, and a private one). */
const USERS = [1, 2, 3, 4, 5].map((id) => ({ id, name: `User ${id}`, email: `u${id}@example.com`, address: { city: `City ${id}`, zipcode: '00000' } }));

describe('README quick start', () => {
  let upstream: TestUpstream;
  let svc: ServeProcess;

  beforeAll(async () => {
    upstream = await startUpstream();
    upstream.route('/users', (req, res) => {
      const limit = Number(req.query.get('_limit') ?? USERS.length);
      res.writeHead(req.headers['x-api-key'] === 'demo-key-123' ? 200 : 401, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'max-age=43200' });
      res.end(JSON.stringify(USERS.slice(0, limit)));
    });
    svc = await startServe({ adminToken: ADMIN_TOKEN, masterKey: Buffer.alloc(32, 7).toString('base64') });
  });
  afterAll(async () => {
    svc?.child.kill('SIGTERM');
    await svc?.exited;
    await upstream?.close();
  });

  /** Runs the README's blocks in order in one bash, in a folder laid out like the checkout. */
  function runQuickStart(adminToken: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'gh-quick-start-'));
    symlinkSync(join(root, 'bin'), join(dir, 'bin'));
    mkdirSync(join(dir, '.gatehouse'));
    writeFileSync(join(dir, '.gatehouse', 'admin.token'), `${adminToken}\n`, { mode: 0o600 });
    const script = blocks.join('\n').split(README_SERVICE).join(svc.url).split(PUBLIC_API).join(upstream.url);
    return new Promise((resolve) => {
      execFile('bash', ['-c', script], { cwd: dir, timeout: 60_000, env: { PATH: process.env.PATH ?? '', HOME: dir } }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stdout, stderr }),
      );
    });
  }

  it('has the five blocks, pointing at the public example and the default address', () => {
    expect(blocks).toHaveLength(5);
    expect(blocks.join('\n')).toContain(PUBLIC_API);
    expect(blocks.join('\n')).toContain(README_SERVICE);
    expect(blocks.join('\n')).toContain('| tojson');
  });

  it('reaches a working connector: tenant, secret, variable, connector, anonymous and signed-in calls with timing and cache headers', async () => {
    const { code, stdout, stderr } = await runQuickStart(ADMIN_TOKEN);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    // the anonymous call: headers then the reshaped JSON (page_size 3, the secret sent as X-API-Key)
    expect(stdout).toMatch(/^HTTP\/1\.1 200 OK$/m);
    expect(stdout).toMatch(/^x-cache: MISS\r?$/m);
    expect(stdout).toMatch(/^server-timing: .+$/m);
    expect(stdout).toMatch(/^x-connector-timing: \{.*"external_host":"127\.0\.0\.1:\d+".*\}\r?$/m);
    const reshaped = { users: USERS.slice(0, 3).map((u) => ({ city: u.address.city, id: u.id, name: u.name })) };
    const jsonLines = stdout.split('\n').filter((l) => l.startsWith('{"users"') || l.startsWith('{"city"') || l.startsWith('{"users":'));
    expect(jsonLines.map((l) => JSON.parse(l))).toEqual([{ ...reshaped, viewer: null }, { ...reshaped, viewer: 'ada@example.com' }]);
    expect(upstream.requests.filter((r) => r.path === '/users').every((r) => r.query.get('_limit') === '3' && r.headers['x-api-key'] === 'demo-key-123')).toBe(true);
    // the JSON answers of the admin calls
    expect(stdout).toContain('"id":"demo"');
    expect(stdout).toContain('"permalink":"users"');
    expect(stdout).not.toContain('demo-key-123');
  });

  it('with a wrong admin token prints the service\'s own message', async () => {
    const { stdout } = await runQuickStart('not-the-admin-token-at-all');
    const refused = JSON.stringify({ error: { code: 'FORBIDDEN', message: 'the operator token is not valid' } });
    // every admin call of the quick start (tenant, secret, variable, connector) prints it
    expect(stdout.split('\n').filter((l) => l === refused)).toHaveLength(4);
    expect(readme).toContain(refused);
  });
});
