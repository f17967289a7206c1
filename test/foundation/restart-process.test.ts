import { randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/redis/embedded.js';
import { flushTestRedis } from '../support/redis.js';
import { adminClient, startServe as serve, type ServeProcess } from '../support/serve-process.js';

/**
 * Stop and restart the service on the same Redis: the real binary, stopped with SIGTERM
 * and started again as a new process with the same master key. Everything written through the admin
 * API before the restart is still there and usable afterwards (the secret is decrypted and sent).
 */

const ADMIN = 'restart-test-admin-token-0123456789';
const MASTER = randomBytes(32).toString('base64');
const SECRET = `sk-restart-${randomBytes(6).toString('hex')}`;

const startServe = (port: number, home: string) => serve({ port, home, adminToken: ADMIN, masterKey: MASTER });
const admin = (base: string) => adminClient(base, ADMIN);

describe('stop and restart the real service on the same Redis', () => {
  let upstream: Server;
  let upstreamUrl: string;
  const seen: IncomingHttpHeaders[] = [];
  const running: ServeProcess[] = [];

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
    // Two process start-ups and a graceful stop: on a loaded two-core machine that exceeds the default 30 s.
  }, 90_000);
});
