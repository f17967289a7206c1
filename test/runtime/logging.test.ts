import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { startHarness, type Harness } from './harness.js';

/**
 * Request log lines at the default LOG_LEVEL=info (docs/runtime.md, "Logging"): a successful widget
 * execution writes none, a failed one writes its "request completed" line, other routes keep theirs.
 */
describe('request logging at info', () => {
  let h: Harness;
  let up: TestUpstream;

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    up.route('/ok', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"ok":true}');
    });
    up.route('/teapot', (_req, res) => {
      res.writeHead(418, { 'content-type': 'application/json' });
      res.end('{"ok":false}');
    });
    h = await startHarness({ LOG_LEVEL: 'info' });
    await h.createTenant('acme');
    await h.createConnector('acme', { name: 'Ok', url: `${up.url}/ok` });
    await h.createConnector('acme', { name: 'Teapot', url: `${up.url}/teapot` });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  const linesOf = async (id: string) => {
    await new Promise((resolve) => setTimeout(resolve, 20));
    return h.logs
      .flatMap((l) => l.split('\n'))
      .filter((l) => l.includes(id))
      .map((l) => JSON.parse(l) as { level: number; msg: string; request_id: string; res?: { statusCode: number } });
  };

  it('a successful execution writes no line; a failed one writes "request completed" with its status', async () => {
    const ok = await h.exec('ok');
    expect(ok.status).toBe(200);
    expect(await linesOf(ok.headers.get('x-request-id')!)).toEqual([]);

    const teapot = await h.exec('teapot');
    expect(teapot.status).toBe(418);
    const failed = await linesOf(teapot.headers.get('x-request-id')!);
    expect(failed.map((l) => [l.msg, l.level, l.res?.statusCode])).toEqual([['request completed', 30, 418]]);

    const missing = await h.exec('nope');
    expect(missing.status).toBe(404);
    expect((await linesOf(missing.headers.get('x-request-id')!)).map((l) => l.msg)).toEqual(['request completed']);
  });

  it('other routes keep both lines at info', async () => {
    const res = await h.admin('GET', '/tenants');
    expect(res.status).toBe(200);
    const lines = await linesOf(res.headers.get('x-request-id')!);
    expect(lines.map((l) => [l.msg, l.level])).toEqual([
      ['incoming request', 30],
      ['request completed', 30],
    ]);
  });
});
