import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../src/config.js';
import { UpstreamClient, UpstreamError } from '../../src/upstream/client.js';
import { createUpstreamDispatcher } from '../../src/upstream/dispatcher.js';
import { BlockedDestinationError, createAddressGuard } from '../../src/upstream/guard.js';
import { testCerts, type TestCerts } from '../support/certs.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

function client(opts: { allowCidrs?: string; allowHttp?: boolean; ca?: string; timeoutMs?: number } = {}): UpstreamClient {
  const guard = createAddressGuard(parseCidrList(opts.allowCidrs ?? '', []));
  const timeoutMs = opts.timeoutMs ?? 2000;
  return new UpstreamClient({
    timeoutMs,
    allowHttp: opts.allowHttp ?? false,
    guard,
    dispatcher: createUpstreamDispatcher({ guard, extraCa: opts.ca, timeoutMs }),
  });
}

describe('upstream client and SSRF guard', () => {
  let certs: TestCerts;
  let http: TestUpstream;
  let https: TestUpstream;
  const clients: UpstreamClient[] = [];
  const make = (o: Parameters<typeof client>[0]) => {
    const c = client(o);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    certs = await testCerts();
    http = await startUpstream();
    https = await startUpstream({ tls: certs });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await http.close();
    await https.close();
  });

  it('calls an https upstream whose certificate is signed by UPSTREAM_CA_FILE', async () => {
    const c = make({ allowCidrs: '127.0.0.0/8', ca: certs.ca });
    const res = await c.send({ url: c.parseUrl(`${https.url}/hello?x=1`), method: 'GET', headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body.toString()).path).toBe('/hello');
  });

  it('refuses an https upstream whose certificate is not trusted', async () => {
    const c = make({ allowCidrs: '127.0.0.0/8' });
    await expect(c.send({ url: c.parseUrl(`${https.url}/x`), method: 'GET', headers: {} })).rejects.toMatchObject({
      code: 'UPSTREAM_UNREACHABLE',
    });
  });

  it('refuses http:// unless UPSTREAM_ALLOW_HTTP', () => {
    const c = make({ allowCidrs: '127.0.0.0/8' });
    expect(() => c.parseUrl(`${http.url}/x`)).toThrow(BlockedDestinationError);
    expect(() => c.parseUrl('ftp://example.org/x')).toThrow(BlockedDestinationError);
    expect(() => c.parseUrl("https://{{ get_variable('h') }}/x")).toThrow(BlockedDestinationError);
    const allowed = make({ allowCidrs: '127.0.0.0/8', allowHttp: true });
    expect(allowed.parseUrl(`${http.url}/x`).protocol).toBe('http:');
  });

  const loopbackSpellings = [
    '127.0.0.1',
    '127.1',
    '2130706433',
    '0x7f000001',
    '0x7f.0.0.1',
    '0177.0.0.1',
    '127.000.000.001',
    '[::1]',
    '[0:0:0:0:0:0:0:1]',
    '[::ffff:127.0.0.1]',
    '[::ffff:7f00:1]',
    'localhost',
    'api.localhost',
    'localhost.',
  ];

  for (const host of loopbackSpellings) {
    it(`blocks loopback spelled ${host} with the allow-list off (no traffic)`, async () => {
      const c = make({ allowHttp: true });
      const before = http.requests.length;
      const url = c.parseUrl(`http://${host}:${http.port}/blocked`);
      await expect(c.send({ url, method: 'GET', headers: {} })).rejects.toBeInstanceOf(BlockedDestinationError);
      expect(http.requests.length).toBe(before);
    });
  }

  it('reaches loopback when its CIDR is allowed (IPv4 and IPv4-mapped spellings)', async () => {
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true });
    for (const host of ['127.0.0.1', '127.1', '2130706433', '[::ffff:127.0.0.1]', 'localhost', 'api.localhost']) {
      const res = await c.send({ url: c.parseUrl(`http://${host}:${http.port}/ok`), method: 'GET', headers: {} });
      expect(res.status).toBe(200);
    }
  });

  it('an allow-list for 127.0.0.0/8 does not open ::1', async () => {
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true });
    await expect(c.send({ url: c.parseUrl(`http://[::1]:${http.port}/x`), method: 'GET', headers: {} })).rejects.toBeInstanceOf(
      BlockedDestinationError,
    );
  });

  it('does not follow redirects: the 3xx comes back as is', async () => {
    http.route('/redirect', (_req, res) => {
      res.writeHead(302, { location: `${http.url}/target` });
      res.end();
    });
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true });
    const res = await c.send({ url: c.parseUrl(`${http.url}/redirect`), method: 'GET', headers: {} });
    expect(res.status).toBe(302);
    expect(res.headers.location).toBe(`${http.url}/target`);
    expect(http.requests.some((r) => r.path === '/target')).toBe(false);
  });

  it('times out a slow upstream with UPSTREAM_TIMEOUT (headers never come)', async () => {
    http.route('/slow', () => undefined);
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true, timeoutMs: 200 });
    const started = Date.now();
    const err = await c.send({ url: c.parseUrl(`${http.url}/slow`), method: 'GET', headers: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: 'UPSTREAM_TIMEOUT', timeout: true });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('the deadline covers the body too (slow drip)', async () => {
    http.route('/drip', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const t = setInterval(() => res.write('x'), 50);
      res.on('close', () => clearInterval(t));
    });
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true, timeoutMs: 300 });
    await expect(c.send({ url: c.parseUrl(`${http.url}/drip`), method: 'GET', headers: {} })).rejects.toMatchObject({
      code: 'UPSTREAM_TIMEOUT',
    });
  });

  it('refuses a response over the cap (declared or streamed)', async () => {
    http.route('/big', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(4096, 1));
    });
    http.route('/big-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < 8; i++) res.write(Buffer.alloc(1024, 1));
      res.end();
    });
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true });
    await expect(c.send({ url: c.parseUrl(`${http.url}/big`), method: 'GET', headers: {} }, 1024)).rejects.toMatchObject({
      code: 'UPSTREAM_RESPONSE_TOO_LARGE',
    });
    await expect(c.send({ url: c.parseUrl(`${http.url}/big-chunked`), method: 'GET', headers: {} }, 4096)).rejects.toMatchObject({
      code: 'UPSTREAM_RESPONSE_TOO_LARGE',
    });
  });

  it('a body cut off mid-way is UPSTREAM_UNREACHABLE (never a hang, never a short body)', async () => {
    http.route('/cut', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
      res.write('only ten b');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    http.route('/cut-chunked', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a first chunk');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true, timeoutMs: 5000 });
    for (const path of ['/cut', '/cut-chunked']) {
      const started = Date.now();
      await expect(c.send({ url: c.parseUrl(`${http.url}${path}`), method: 'GET', headers: {} })).rejects.toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
      expect(Date.now() - started).toBeLessThan(2000);
    }
    // The pool stays usable.
    http.route('/fine', (_req, res) => {
      res.end('fine');
    });
    expect((await c.send({ url: c.parseUrl(`${http.url}/fine`), method: 'GET', headers: {} })).body.toString()).toBe('fine');
  });

  it('reports a refused connection as UPSTREAM_UNREACHABLE', async () => {
    const other = await startUpstream();
    const port = other.port;
    await other.close();
    const c = make({ allowCidrs: '127.0.0.0/8', allowHttp: true });
    await expect(c.send({ url: c.parseUrl(`http://127.0.0.1:${port}/x`), method: 'GET', headers: {} })).rejects.toMatchObject({
      code: 'UPSTREAM_UNREACHABLE',
      message: 'Connection refused',
    });
  });
});
