import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOAuthServer, type TestOAuthServer } from '../support/oauth-server.js';
import { flushTestRedis, testRedisClient } from '../support/redis.js';
import { adminClient, startServe, type ServeProcess } from '../support/serve-process.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * What must hold across processes, shown with two real `gatehouse serve --role api` OS processes on
 * one Redis (no shared memory, no shared module state): one token request for concurrent first
 * calls, and a cache miss in one process served as a hit by the other.
 */

const ADMIN = 'two-process-admin-token-0123456789';
const MASTER = randomBytes(32).toString('base64');
const CLIENT_SECRET = `cs-${randomBytes(8).toString('hex')}`;

describe('two Gatehouse processes sharing one Redis', () => {
  let oauth: TestOAuthServer;
  let up: TestUpstream;
  const procs: ServeProcess[] = [];

  beforeAll(async () => {
    await flushTestRedis();
    oauth = await startOAuthServer();
    oauth.addClient({ id: 'svc', secret: CLIENT_SECRET, grants: ['client_credentials'] });
    up = await startUpstream();
    let hits = 0;
    up.route('/weather', (_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=300' });
      res.end(JSON.stringify({ temp: 21, hits }));
    });
    up.route('/keyed', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ key: req.headers['x-api-key'] ?? null }));
    });
    procs.push(...(await Promise.all([0, 1].map(() => startServe({ adminToken: ADMIN, masterKey: MASTER, role: 'api' })))));
    const admin = adminClient(procs[0]!.url, ADMIN);
    expect((await admin('PUT', '/tenants/acme', { name: 'Acme', allowed_origins: [] })).status).toBe(201);
    expect((await admin('PUT', '/tenants/acme/secrets/client_secret', { value: CLIENT_SECRET })).status).toBe(201);
    const resource = {
      name: 'Resource',
      url: oauth.resourceUrl,
      authentication: {
        type: 'oauth_client_credentials',
        config: { client_id: 'svc', client_secret: "{{ get_secret('client_secret') }}", token_url: oauth.tokenUrl, scope: 'read' },
      },
    };
    expect((await admin('POST', '/tenants/acme/connectors', resource)).status).toBe(201);
    expect((await admin('POST', '/tenants/acme/connectors', { name: 'Weather', url: `${up.url}/weather` })).status).toBe(201);
    // the other process sees admin writes within a second (docs/design.md#read-your-writes)
    const deadline = Date.now() + 3000;
    for (;;) {
      const r = await fetch(`${procs[1]!.url}/admin/v1/tenants/acme/connectors/weather`, { headers: { authorization: `Bearer ${ADMIN}` } });
      if (r.status === 200) break;
      if (Date.now() > deadline) throw new Error('the second process never saw the connector');
      await new Promise((res) => setTimeout(res, 50));
    }
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGTERM');
    await Promise.all(procs.map((p) => p.exited));
    await oauth?.close();
    await up?.close();
  });

  it('20 concurrent first calls of an OAuth connector, 10 to each process → exactly one token request', async () => {
    oauth.tokenRequests.length = 0;
    oauth.setTokenDelay(300);
    const calls = Array.from({ length: 20 }, (_, i) => fetch(`${procs[i % 2]!.url}/t/acme/connectors/resource/execute`));
    const responses = await Promise.all(calls);
    oauth.setTokenDelay(0);
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(oauth.tokenRequests).toHaveLength(1);
    expect(oauth.tokenRequests[0]).toMatchObject({ grant_type: 'client_credentials', client_id: 'svc', scope: 'read' });
    // every call, in both processes, was authorised at the resource server by that one token
    for (const r of responses) expect(await r.json()).toMatchObject({ ok: true, client: 'svc' });
  });

  it('secrets are read from memory, and a secret change reaches the other process within the connector-change bound', async () => {
    const admin = adminClient(procs[0]!.url, ADMIN);
    expect((await admin('PUT', '/tenants/acme/secrets/api_key', { value: 'key-version-one' })).status).toBe(201);
    const keyed = { name: 'Keyed', url: `${up.url}/keyed`, headers: [{ key: 'X-Api-Key', value: "{{ get_secret('api_key') }}" }] };
    expect((await admin('POST', '/tenants/acme/connectors', keyed)).status).toBe(201);
    const keyOn = async (p: ServeProcess): Promise<unknown> => {
      const r = await fetch(`${p.url}/t/acme/connectors/keyed/execute`);
      return r.status === 200 ? ((await r.json()) as { key: unknown }).key : `status ${r.status}`;
    };
    const waitFor = async (p: ServeProcess, expected: string | ((key: unknown) => boolean), what: string) => {
      const deadline = Date.now() + 3000;
      for (;;) {
        const key = await keyOn(p);
        if (typeof expected === 'string' ? key === expected : expected(key)) return;
        if (Date.now() > deadline) throw new Error(`${what}: still ${String(key)}`);
        await new Promise((res) => setTimeout(res, 50));
      }
    };
    await waitFor(procs[1]!, 'key-version-one', 'the second process never used the secret');
    expect(await keyOn(procs[0]!)).toBe('key-version-one');

    // Once read, a process answers from memory: no secret reads in Redis for 20 more calls.
    const redis = testRedisClient();
    try {
      const hmgets = async () => Number(/^cmdstat_hmget:calls=(\d+)/m.exec(await redis.info('commandstats'))?.[1] ?? 0);
      const before = await hmgets();
      for (let i = 0; i < 10; i++) for (const p of procs) expect(await keyOn(p)).toBe('key-version-one');
      expect(await hmgets()).toBe(before);
    } finally {
      redis.disconnect();
    }

    // A write in one process reaches the other (pub/sub, else the periodic revision check).
    expect((await admin('PUT', '/tenants/acme/secrets/api_key', { value: 'key-version-two' })).status).toBe(200);
    expect(await keyOn(procs[0]!)).toBe('key-version-two'); // the writing process: at once
    await waitFor(procs[1]!, 'key-version-two', 'the second process kept the old secret');
    expect((await admin('DELETE', '/tenants/acme/secrets/api_key')).status).toBe(204);
    expect(await keyOn(procs[0]!)).not.toBe('key-version-two');
    await waitFor(procs[1]!, (key) => key !== 'key-version-two', 'the second process kept the deleted secret');
  });

  it('a miss in one process is a hit in the other, with no second upstream request', async () => {
    const before = up.requests.length;
    const first = await fetch(`${procs[0]!.url}/t/acme/connectors/weather/execute`);
    expect(first.headers.get('x-cache')).toBe('MISS');
    const firstBody = await first.text();
    const second = await fetch(`${procs[1]!.url}/t/acme/connectors/weather/execute`);
    expect(second.headers.get('x-cache')).toBe('HIT');
    expect(await second.text()).toBe(firstBody);
    expect(up.requests.length - before).toBe(1);
  });
});
