import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { closeRedis, connectRedis } from '../../src/redis/connection.js';
import { freePort } from '../../src/redis/embedded.js';
import { startSyncWorkers } from '../../workers/sync-worker.js';
import { testCerts } from '../support/certs.js';
import { spawnRedis, waitFor, type RedisProcess } from '../support/redis-processes.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { routeOkAndBoom, startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * `rediss://` against a real TLS redis-server (Debian's redis-server is built with TLS) whose
 * certificate is signed by a CA generated for the test: Gatehouse trusts it through REDIS_CA_FILE
 * and runs on it (admin writes, the response cache, queues and workers); without the CA the
 * certificate is refused. The server has no plain-text port, so nothing can bypass TLS.
 */
describe('Redis over TLS (rediss://, REDIS_CA_FILE)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gh-redis-tls-'));
  let redis: RedisProcess;
  let url: string;
  let caFile: string;
  let svc: TestService;
  let up: TestUpstream;

  beforeAll(async () => {
    const certs = await testCerts();
    caFile = certs.caFile;
    writeFileSync(join(dir, 'server.pem'), certs.cert);
    writeFileSync(join(dir, 'server.key'), certs.key);
    const port = await freePort();
    redis = spawnRedis(
      'redis-server',
      ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.pem', '--tls-key-file', 'server.key', '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no', '--save', '', '--appendonly', 'no'],
      dir,
    );
    url = `rediss://127.0.0.1:${port}`;
    await waitFor(`the TLS redis-server on ${port}`, async () => {
      const probe = connectRedis(url, { connectionName: 'test:probe', ca: certs.ca, maxRetriesPerRequest: 0, lazyConnect: true });
      probe.on('error', () => undefined);
      try {
        return (await probe.ping()) === 'PONG';
      } finally {
        probe.disconnect();
      }
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${redis.output()}`);
    });
    up = await startUpstream();
    routeOkAndBoom(up);
  }, 60_000);

  afterAll(async () => {
    await svc?.close();
    await redis?.stop();
    await up?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Gatehouse runs on the TLS Redis with the generated CA: admin writes, cached executions, queues with workers', async () => {
    svc = await startTestService({ env: { REDIS_URL: url, REDIS_CA_FILE: caFile, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
    expect(svc.config.redisCa).toContain('-----BEGIN CERTIFICATE-----');
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${svc.url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    expect((await admin('PUT', '/tenants/acme', { name: 'Acme', allowed_origins: [] })).status).toBe(201);
    expect((await admin('POST', '/tenants/acme/connectors', { name: 'Ok', url: `${up.url}/ok` })).status).toBe(201);
    const first = await fetch(`${svc.url}/t/acme/connectors/ok/execute`);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const second = await fetch(`${svc.url}/t/acme/connectors/ok/execute`);
    expect(await second.json()).toEqual({ ok: true });
    // The response cache lives in the TLS Redis: the second call is answered from it.
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(up.requests.filter((r) => r.path === '/ok')).toHaveLength(1);

    // BullMQ's queue and worker connections take the same CA.
    await startSyncWorkers(svc.services, { reconcile: false });
    const queues = (await (await admin('GET', '/queues')).json()) as { items: { name: string; workers: number }[] };
    expect(queues.items.map((q) => [q.name, q.workers])).toEqual([['sync', 1], ['status', 1], ['reconcile', 1]]);
    expect((await fetch(`${svc.url}/readyz`)).status).toBe(200);

    // Everything above went through TLS: the server has no plain-text port, and it lists our connections.
    const direct = connectRedis(url, { connectionName: 'test:inspect', ca: svc.config.redisCa });
    try {
      const clients = await direct.client('LIST');
      expect(String(clients)).toContain('name=gatehouse:state');
      expect(String(clients)).toContain('name=gatehouse:workers');
    } finally {
      await closeRedis(direct);
    }
  });

  it('without the CA the server certificate is refused (Node does not trust the private CA)', async () => {
    const client = connectRedis(url, { connectionName: 'test:no-ca', maxRetriesPerRequest: 0, lazyConnect: true });
    const errors: string[] = [];
    client.on('error', (err: Error) => errors.push(err.message));
    try {
      await expect(client.ping()).rejects.toThrow();
      await waitFor('a TLS error', () => errors.length > 0, 10_000);
      expect(errors[0]).toMatch(/certificate/);
    } finally {
      client.disconnect();
    }
  });

  it('REDIS_CA_FILE: an unreadable file, a file without a certificate, and a CA without a TLS URL are configuration errors naming it', () => {
    const problems = (env: Record<string, string>) => {
      try {
        loadConfig({ GATEHOUSE_HOME: dir, ...env });
        return [];
      } catch (err) {
        if (err instanceof ConfigError) return err.problems;
        throw err;
      }
    };
    const notPem = join(dir, 'not-a-cert.txt');
    writeFileSync(notPem, 'hello');
    expect(problems({ REDIS_URL: url, REDIS_CA_FILE: join(dir, 'missing.pem') })).toEqual([expect.stringMatching(/^REDIS_CA_FILE: cannot read .*missing\.pem/)]);
    expect(problems({ REDIS_URL: url, REDIS_CA_FILE: notPem })).toEqual([expect.stringMatching(/^REDIS_CA_FILE: .*not-a-cert\.txt holds no PEM certificate/)]);
    expect(problems({ REDIS_URL: 'redis://127.0.0.1:6379', REDIS_CA_FILE: caFile })).toEqual([expect.stringMatching(/^REDIS_CA_FILE is set but neither REDIS_URL nor CACHE_REDIS_URL uses TLS/)]);
    expect(problems({ REDIS_URL: 'redis://127.0.0.1:6379', CACHE_REDIS_URL: url, REDIS_CA_FILE: caFile })).toEqual([]);
  });
});
