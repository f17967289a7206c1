import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestUpstream } from '../support/upstream.js';
import { startHarness, startRuntimeTest, type Harness } from './harness.js';

/**
 * A process started with a GATEHOUSE_MASTER_KEY that does not open a tenant's data key (a rotation
 * half done, a wrong key in one replica) cannot read that tenant's secrets. Its callers get a 503 that
 * says the problem is on the server's side; its operator gets the cause in the log; the secret stays
 * out of both.
 */

const API_KEY = `key-${randomBytes(8).toString('hex')}`;

describe('execute in a process whose master key does not open the tenant data key', () => {
  let h: Harness;
  let wrongKey: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    up.route('/keyed', (req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end(JSON.stringify({ key: req.headers['x-api-key'] ?? null }));
    });
    await h.putSecret('acme', 'api_key', API_KEY);
    await h.createConnector('acme', { name: 'Keyed', url: `${up.url}/keyed`, headers: [{ key: 'X-Api-Key', value: "{{ get_secret('api_key') }}" }] });
    wrongKey = await startHarness({ GATEHOUSE_MASTER_KEY: randomBytes(32).toString('base64') });
  }, 60_000);

  afterAll(async () => {
    await wrongKey?.close();
    await h?.close();
    await up?.close();
  });

  it('answers 503 SECRETS_UNAVAILABLE and logs the cause, never the secret', async () => {
    const ok = await h.exec('keyed');
    expect(ok.status).toBe(200);
    expect(ok.json).toEqual({ key: API_KEY });

    const r = await wrongKey.exec('keyed');
    expect(r.status).toBe(503);
    expect(r.json).toMatchObject({ success: false, errors: { code: 'SECRETS_UNAVAILABLE' } });
    expect(r.json.errors.detail).toContain("cannot read this tenant's secrets");
    expect(r.json.errors.detail).toContain(r.json.request_id);
    expect(r.text).not.toContain(API_KEY);

    const cause = wrongKey.logs.find((line) => line.includes('MASTER_KEY_MISMATCH'));
    expect(cause).toBeDefined();
    expect(JSON.parse(cause!)).toMatchObject({ level: 50, request_id: r.json.request_id, tenant: 'acme' });
    expect(cause).toContain('GATEHOUSE_MASTER_KEY');
    for (const line of wrongKey.logs) expect(line).not.toContain(API_KEY);
  });
});
