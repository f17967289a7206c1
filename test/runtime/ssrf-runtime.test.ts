import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { testCerts } from '../support/certs.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { startHarness, type Harness } from './harness.js';

/**
 * The address guard (docs/design.md#address-guard) at run time, loopback only: with the allow-list off, a templated host (the only way a
 * loopback address gets past save-time validation) is refused with 422 BLOCKED_DESTINATION and no
 * traffic, whatever the spelling.
 */
describe('SSRF guard through the pipeline', () => {
  let strict: Harness;
  let open: Harness;
  let up: TestUpstream;
  let tls: TestUpstream;

  beforeAll(async () => {
    await flushTestRedis();
    const certs = await testCerts();
    up = await startUpstream();
    tls = await startUpstream({ tls: certs });
    strict = await startHarness({ UPSTREAM_ALLOW_CIDRS: '', UPSTREAM_ALLOW_HTTP: 'true' });
    open = await startHarness({ UPSTREAM_CA_FILE: certs.caFile, UPSTREAM_ALLOW_HTTP: 'false' });
    await strict.createTenant('acme');
    await strict.createConnector('acme', { name: 'Templated Host', url: "http://{{ get_variable('host') }}/x" });
    await strict.createConnector('acme', { name: 'Templated Https', url: "https://{{ get_variable('host') }}/x" });
    await strict.createConnector('acme', {
      name: 'Token Host',
      url: 'https://api.example.com/x',
      authentication: { type: 'oauth_client_credentials', config: { client_id: "{{ get_secret('a') }}", client_secret: "{{ get_secret('a') }}", token_url: "http://{{ get_variable('host') }}/token" } },
    });
  });
  afterAll(async () => {
    await strict.close();
    await open.close();
    await up.close();
    await tls.close();
  });
  beforeEach(() => {
    up.requests.length = 0;
  });

  const port = () => new URL(up.url).port;
  const spellings = () => [
    `127.0.0.1:${port()}`, `127.1:${port()}`, `2130706433:${port()}`, `0x7f000001:${port()}`, `0177.0.0.1:${port()}`,
    `[::1]:${port()}`, `[::ffff:127.0.0.1]:${port()}`, `localhost:${port()}`, `api.localhost:${port()}`,
  ];

  it('blocks every loopback spelling with 422 BLOCKED_DESTINATION and sends nothing', async () => {
    for (const host of spellings()) {
      await strict.putVariable('acme', 'host', host);
      const r = await strict.exec('templated-host');
      expect(r.status, host).toBe(422);
      expect(r.json.errors.code).toBe('BLOCKED_DESTINATION');
      expect(r.headers.get('x-cache')).toBeTruthy();
    }
    expect(up.requests).toHaveLength(0);
  });

  it('a token_url on loopback is blocked the same way', async () => {
    await strict.putVariable('acme', 'host', `127.0.0.1:${port()}`);
    const r = await strict.exec('token-host');
    expect(r.status).toBe(422);
    expect(r.json.errors.code).toBe('BLOCKED_DESTINATION');
    expect(up.requests).toHaveLength(0);
  });

  it('an unresolved variable leaves its literal text → the URL fails at run time with 422', async () => {
    // "host" is set by the previous tests; deleting it leaves the placeholder in the URL.
    await strict.admin('DELETE', '/tenants/acme/variables/host');
    const unresolved = await strict.exec('templated-https');
    expect(unresolved.status).toBe(422);
    expect(unresolved.json.errors.code).toBe('BLOCKED_DESTINATION');
  });

  it('https upstreams are trusted through UPSTREAM_CA_FILE; http is refused without UPSTREAM_ALLOW_HTTP', async () => {
    await open.createTenant('acme');
    await open.createConnector('acme', { name: 'Secure', url: `${tls.url}/secure` });
    const ok = await open.exec('secure');
    expect(ok.status).toBe(200);
    expect(ok.json.path).toBe('/secure');
    await open.createConnector('acme', { name: 'Plain Host', url: "{{ get_variable('origin') }}/x" });
    await open.putVariable('acme', 'origin', up.url);
    const plain = await open.exec('plain-host');
    expect(plain.status).toBe(422);
    expect(plain.json.errors.code).toBe('BLOCKED_DESTINATION');
  });
});
