import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';

/**
 * Issue 4's "stop and restart the service on the same Redis": the real binary, stopped with SIGTERM
 * and started again as a new process with the same master key. Everything written through the admin
 * API before the restart is still there and usable afterwards (the secret is decrypted and sent).
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const ADMIN = 'restart-test-admin-token-0123456789';
const MASTER = randomBytes(32).toString('base64');
const SECRET = `sk-restart-${randomBytes(6).toString('hex')}`;

interface Running {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
}

async function startServe(port: number, home: string): Promise<Running> {
  const child = spawn(process.execPath, [join(root, 'bin', 'gatehouse.js'), 'serve'], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      NODE_ENV: 'development',
      GATEHOUSE_HOME: home,
      REDIS_URL: testRedisUrl(),
      GATEHOUSE_MASTER_KEY: MASTER,
      GATEHOUSE_ADMIN_TOKEN: ADMIN,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      RECONCILE_INTERVAL_S: '0',
      GITHUB_API_URL: 'http://127.0.0.1:9',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`serve did not become ready:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, exited };
}

function admin(base: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
}

describe('stop and restart the real service on the same Redis', () => {
  let upstream: Server;
  let upstreamUrl: string;
  const seen: IncomingHttpHeaders[] = [];
  const running: Running[] = [];

  beforeAll(async () => {
    await flushTestRedis();
    upstream = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ ok: true, path: req.url }));
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const address = upstream.address();
    upstreamUrl = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`;
  });

  afterAll(async () => {
    for (const r of running) if (r.child.exitCode === null) r.child.kill('SIGKILL');
    await new Promise((r) => upstream.close(r));
  });

  it('keeps tenants, secrets, variables and connectors across SIGTERM and a new process', async () => {
    const home = mkdtempSync(join(tmpdir(), 'gh-restart-'));
    const port = await freePort();

    const first = await startServe(port, home);
    running.push(first);
    const call = admin(first.url);
    expect((await call('PUT', '/tenants/acme', { name: 'Acme', allowed_origins: [] })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/api_key', { value: SECRET })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/variables/region', { value: 'eu' })).status).toBe(201);
    const connector = {
      name: 'Restart Probe',
      url: `${upstreamUrl}/items`,
      query_parameters: [{ key: 'region', value: "{{ get_variable('region') }}", overridable: false }],
      authentication: { type: 'api_key', config: { key: 'X-API-Key', value: "{{ get_secret('api_key') }}", in: 'header' } },
    };
    expect((await call('POST', '/tenants/acme/connectors', JSON.stringify(connector))).status).toBe(201);

    const before = await fetch(`${first.url}/t/acme/connectors/restart-probe/execute`);
    expect(before.status).toBe(200);
    expect(await before.json()).toEqual({ ok: true, path: '/items?region=eu' });
    expect(seen.at(-1)!['x-api-key']).toBe(SECRET);
    const listed = {
      tenants: (await call('GET', '/tenants')).json,
      secrets: (await call('GET', '/tenants/acme/secrets')).json,
      variables: (await call('GET', '/tenants/acme/variables')).json,
      connectors: (await call('GET', '/tenants/acme/connectors')).json,
    };

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(await fetch(`${first.url}/healthz`).then(() => 'up', () => 'down')).toBe('down');

    const second = await startServe(port, home);
    running.push(second);
    const again = admin(second.url);
    expect((await again('GET', '/tenants')).json).toEqual(listed.tenants);
    expect((await again('GET', '/tenants/acme/secrets')).json).toEqual(listed.secrets);
    expect((await again('GET', '/tenants/acme/variables')).json).toEqual(listed.variables);
    expect((await again('GET', '/tenants/acme/connectors')).json).toEqual(listed.connectors);

    seen.length = 0;
    const after = await fetch(`${second.url}/t/acme/connectors/restart-probe/execute`);
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual({ ok: true, path: '/items?region=eu' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!['x-api-key']).toBe(SECRET);

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
