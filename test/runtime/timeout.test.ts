import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, type Harness } from './harness.js';

describe('upstream timeout and failures answer a 502 envelope', () => {
  let h: Harness;
  let up: TestUpstream;
  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest({ UPSTREAM_TIMEOUT_MS: '300' }));
    up.route('/slow', () => undefined);
    await h.createConnector('acme', { name: 'Slow', url: `${up.url}/slow` });
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });

  it('an upstream that does not answer in time → 502 UPSTREAM_TIMEOUT, scope Downstream, timing timeout:true and external_host', async () => {
    const r = await h.exec('slow');
    expect(r.status).toBe(502);
    expect(r.json.errors).toMatchObject({ code: 'UPSTREAM_TIMEOUT', scope: 'Downstream (network/external service)' });
    const t = JSON.parse(r.headers.get('x-connector-timing')!);
    expect(t.timeout).toBe(true);
    expect(t.external_host).toBe(new URL(up.url).host);
    expect(t.external_ms).toBeGreaterThanOrEqual(290);
    expect(r.headers.get('server-timing')).toContain('desc="Timeout"');
  });
});

// The default upstream timeout: streaming 11 MiB on a busy machine may take longer than the
// 300 ms above, and these answers must not depend on how fast the machine is.
describe('upstream failures other than a timeout answer a 502 envelope', () => {
  let h: Harness;
  let up: TestUpstream;
  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    up.route('/huge', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(1024 * 1024, 1);
      for (let i = 0; i < 11; i++) res.write(chunk);
      res.end();
    });
    await h.createConnector('acme', { name: 'Huge', url: `${up.url}/huge` });
    const gone = await startUpstream();
    const port = gone.port;
    await gone.close();
    await h.createConnector('acme', { name: 'Refused', url: `http://127.0.0.1:${port}/x` });
  });
  afterAll(async () => {
    await h.close();
    await up.close();
  });

  it('a response over 10 MiB → 502 UPSTREAM_RESPONSE_TOO_LARGE', async () => {
    const r = await h.exec('huge');
    expect(r.status).toBe(502);
    expect(r.json.errors.code).toBe('UPSTREAM_RESPONSE_TOO_LARGE');
  });

  it('a refused connection → 502 UPSTREAM_UNREACHABLE with the error in X-Connector-Timing', async () => {
    const r = await h.exec('refused');
    expect(r.status).toBe(502);
    expect(r.json.errors).toMatchObject({ code: 'UPSTREAM_UNREACHABLE', scope: 'Downstream (network/external service)' });
    expect(JSON.parse(r.headers.get('x-connector-timing')!).error).toBe('Connection refused');
  });
});
