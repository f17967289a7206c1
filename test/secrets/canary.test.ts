import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminClient, connectorJson, startCapturedService, type CapturedService } from '../admin/support.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const CANARY = 'canary-7Hq2-secret-value-x9Zk4';
const SESSION_CANARY = 'session-canary-Lw8m-0123456789abcdefghij';

/** The canary and encodings a careless implementation might store instead of encrypting. */
function needles(value: string): string[] {
  const buf = Buffer.from(value, 'utf8');
  return [value, buf.toString('base64'), buf.toString('base64url'), buf.toString('hex'), value.split('').reverse().join('')];
}

/** Every key name and every value of every type in every database of the server. */
async function dumpRedis(): Promise<string[]> {
  const out: string[] = [];
  const admin = new Redis(testRedisUrl());
  try {
    const keyspace = (await admin.info('keyspace')).match(/^db\d+/gm) ?? [];
    for (const db of keyspace.map((d) => Number(d.slice(2)))) {
      const client = new Redis(testRedisUrl(db));
      try {
        let cursor = '0';
        do {
          const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            out.push(key);
            const type = await client.type(key);
            switch (type) {
              case 'string':
                out.push((await client.get(key)) ?? '');
                break;
              case 'hash':
                out.push(...Object.entries(await client.hgetall(key)).flat());
                break;
              case 'list':
                out.push(...(await client.lrange(key, 0, -1)));
                break;
              case 'set':
                out.push(...(await client.smembers(key)));
                break;
              case 'zset':
                out.push(...(await client.zrange(key, 0, -1, 'WITHSCORES')));
                break;
              case 'stream':
                out.push(JSON.stringify(await client.xrange(key, '-', '+')));
                break;
              default:
                throw new Error(`unexpected type ${type} of ${key}`);
            }
          }
        } while (cursor !== '0');
      } finally {
        client.disconnect();
      }
    }
  } finally {
    admin.disconnect();
  }
  return out;
}

describe('a secret value appears nowhere but in the resolver result', () => {
  let svc: CapturedService;
  let upstream: TestUpstream;
  const responses: string[] = [];
  beforeAll(async () => {
    await flushTestRedis();
    upstream = await startUpstream();
    svc = await startCapturedService({ level: 'trace', env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
  });
  afterAll(async () => {
    await svc.close();
    await upstream.close();
  });

  it('goes through every route and error path, then finds no trace of the canary', async () => {
    const raw = adminClient(svc.url);
    const call: typeof raw = async (...args) => {
      const answer = await raw(...args);
      responses.push(`${answer.status} ${JSON.stringify([...answer.headers])} ${answer.text}`);
      return answer;
    };

    expect((await call('PUT', '/tenants/acme', { name: 'Acme', session: { alg: 'HS256', secret: SESSION_CANARY }, allowed_origins: ['https://a.example'] })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme', { name: 'Acme', session: { alg: 'HS256' } })).status).toBe(200);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', { value: CANARY })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', { value: CANARY })).status).toBe(200);
    expect((await call('PUT', '/tenants/acme/secrets/second', { value: `${CANARY}-2` })).status).toBe(201);
    expect((await call('GET', '/tenants/acme/secrets')).body.items[0].masked).toBe('c*********');
    await call('GET', '/tenants/acme');
    await call('GET', '/tenants');
    await call('GET', '/tenants/acme/variables');

    // Error paths that receive the value.
    expect((await call('PUT', '/tenants/acme/variables/api_token', { value: CANARY })).status).toBe(409);
    expect((await call('PUT', '/tenants/acme/secrets/bad-name', { value: CANARY })).status).toBe(400);
    expect((await call('PUT', '/tenants/ghost/secrets/api_token', { value: CANARY })).status).toBe(404);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', { value: CANARY, extra: CANARY })).status).toBe(400);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', `{"value": ${CANARY}}`, { raw: true })).status).toBe(400);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', `{"value": "${CANARY}`, { raw: true })).status).toBe(400);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', `{"value": "${CANARY}"}`, { raw: true, contentType: 'text/plain' })).status).toBe(400);
    expect((await call('PUT', '/tenants/acme/secrets/too_long', { value: `${CANARY}${'x'.repeat(70_000)}` })).status).toBe(400);
    expect((await call('PUT', '/tenants/acme', { name: 'Acme', session: { alg: 'HS256', secret: SESSION_CANARY.slice(0, 20) } })).status).toBe(400);
    expect((await call('PUT', '/tenants/acme', `{"name": "Acme", "session": {"alg": "HS256", "secret": ${SESSION_CANARY}}}`, { raw: true })).status).toBe(400);
    await call('PUT', '/tenants/acme/secrets/api_token', { value: CANARY }, { headers: { authorization: `Bearer ${CANARY}` } });

    // Connectors referencing the secret; a credential pasted as a literal is a validation error.
    const withRef = connectorJson({ name: 'Uses secret', authentication: { type: 'api_key', config: { key: 'X-Key', value: "{{ get_secret('api_token') }}", in: 'header' } } });
    expect((await call('POST', '/tenants/acme/connectors', JSON.stringify(withRef), { raw: true })).status).toBe(201);
    const literal = connectorJson({ name: 'Literal', authentication: { type: 'api_key', config: { key: 'X-Key', value: CANARY, in: 'header' } } });
    expect((await call('POST', '/tenants/acme/connectors', JSON.stringify(literal), { raw: true })).status).toBe(422);
    await call('GET', '/tenants/acme/connectors');
    await call('GET', '/tenants/acme/connectors/uses-secret');

    // The runtime uses the secret upstream (through a cached GET) and in Test Connection.
    upstream.route('/data', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
      res.end('{"ok": true}');
    });
    const live = connectorJson({
      name: 'Live',
      url: `${upstream.url}/data`,
      headers: [{ key: 'X-Other', value: "{{ get_secret('second') }}", overridable: false }],
      authentication: { type: 'api_key', config: { key: 'X-Key', value: "{{ get_secret('api_token') }}", in: 'header' } },
    });
    expect((await call('POST', '/tenants/acme/connectors', JSON.stringify(live), { raw: true })).status).toBe(201);
    for (const expectedCache of ['MISS', 'HIT']) {
      const res = await fetch(`${svc.url}/t/acme/connectors/live/execute`);
      const text = await res.text();
      responses.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe(expectedCache);
    }
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.headers['x-key']).toBe(CANARY);
    expect((await call('POST', '/tenants/acme/connectors/test', { permalink: 'live', request: {} })).status).toBe(200);
    expect(upstream.requests[1]!.headers['x-other']).toBe(`${CANARY}-2`);

    // The runtime's readers get the values, in memory only.
    const resolved = await svc.services.secrets.resolve('acme', ['api_token', 'second'], []);
    expect(resolved.secrets.get('api_token')).toBe(CANARY);
    expect((await svc.services.tenants.get('acme'))?.session).toEqual({ alg: 'HS256', secret: SESSION_CANARY });

    // The audit log names what was written (and its answer is scanned too).
    const audit = await call('GET', '/audit?tenant=acme&limit=1000');
    expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(expect.arrayContaining(['tenant.put', 'secret.put', 'variable.put', 'connector.create']));

    const dump = await dumpRedis();
    expect(dump.length).toBeGreaterThan(10);
    const haystacks = { redis: dump.join('\n'), logs: svc.logs.text, responses: responses.join('\n') };
    for (const [where, text] of Object.entries(haystacks)) {
      for (const needle of [...needles(CANARY), ...needles(SESSION_CANARY)]) {
        expect(text.includes(needle), `${where} contains ${needle}`).toBe(false);
      }
    }
    // The scan did look at the right data: the sealed values and audit lines are there.
    expect(haystacks.redis).toContain('api_token');
    expect(haystacks.redis).toContain(JSON.stringify('"action":"secret.put","target":{"name":"api_token"}').slice(1, -1));
    expect(haystacks.logs).toContain('admin write');
    expect(svc.logs.lines.length).toBeGreaterThan(20);
  });
});
