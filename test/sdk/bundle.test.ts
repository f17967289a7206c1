import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { runInNewContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestService, type TestService } from '../support/service.js';

/** The built widget client (sdk/dist, made by `npm run build`) and the routes that serve it. */
const DIST = join(process.cwd(), 'sdk', 'dist');
const read = (name: string) => readFileSync(join(DIST, name));

describe('widget client bundle', () => {
  it('the minified ES module is at most 5 KB gzipped', () => {
    const gzipped = gzipSync(read('connectors.js'), { level: 9 }).length;
    process.stdout.write(`sdk/dist/connectors.js: ${read('connectors.js').length} bytes, ${gzipped} bytes gzipped\n`);
    expect(gzipped).toBeLessThanOrEqual(5 * 1024);
  });

  it('the ES module exports the client, its errors, and ships .d.ts declarations', async () => {
    const mod = await import(pathToFileURL(join(DIST, 'connectors.js')).href);
    expect(Object.keys(mod).sort()).toEqual(
      ['ConnectorBoundaryError', 'ConnectorExecuteError', 'ConnectorFixtureError', 'ConnectorNetworkError', 'DEFAULT_TIMEOUT_MS', 'MAX_PATH_PARAM_LENGTH', 'createConnectorsClient'].sort(),
    );
    const client = mod.createConnectorsClient({ tenant: 'acme', fixtures: { gatehouse_fixtures: 1, connectors: { hello: { method: 'GET', calls: [{ response: { status: 200, body: { hi: 1 } } }] } } } });
    expect(await client.execute({ permalink: 'hello', method: 'GET' })).toEqual({ hi: 1 });
    await expect(client.composite.execute({ permalink: 'x', pathParams: { a: 1 } })).rejects.toBeInstanceOf(mod.ConnectorBoundaryError);
    expect(read('connectors.d.ts').toString()).toMatch(/createConnectorsClient/);
  });

  it('the classic-script bundle sets GatehouseConnectors on the global object', () => {
    const page: Record<string, any> = {};
    runInNewContext(read('connectors.iife.js').toString(), page);
    expect(typeof page.GatehouseConnectors.createConnectorsClient).toBe('function');
    expect(page.GatehouseConnectors.DEFAULT_TIMEOUT_MS).toBe(30_000);
  });
});

describe('GET /sdk/connectors.js and /sdk/connectors.iife.js', () => {
  let svc: TestService;
  beforeAll(async () => {
    svc = await startTestService();
  });
  afterAll(async () => {
    await svc?.close();
  });

  for (const name of ['connectors.js', 'connectors.iife.js']) {
    it(`${name}: the built file, cacheable, with an ETag (304 when it matches), readable from any origin`, async () => {
      const res = await fetch(`${svc.url}/sdk/${name}`, { headers: { origin: 'https://widgets.example' } });
      expect(res.status).toBe(200);
      expect(Buffer.from(await res.arrayBuffer()).equals(read(name))).toBe(true);
      expect(res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
      expect(res.headers.get('cache-control')).toBe('public, max-age=300');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const etag = res.headers.get('etag');
      expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
      const again = await fetch(`${svc.url}/sdk/${name}`, { headers: { 'if-none-match': etag! } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
      const head = await fetch(`${svc.url}/sdk/${name}`, { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('etag')).toBe(etag);
    });
  }

  it('the two bundles differ (ETags are per file) and other /sdk/ paths are 404', async () => {
    const a = await fetch(`${svc.url}/sdk/connectors.js`);
    const b = await fetch(`${svc.url}/sdk/connectors.iife.js`);
    expect(a.headers.get('etag')).not.toBe(b.headers.get('etag'));
    expect((await fetch(`${svc.url}/sdk/../package.json`)).status).toBe(404);
    expect((await fetch(`${svc.url}/sdk/client.d.ts`)).status).toBe(404);
  });
});
