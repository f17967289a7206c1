import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, type TestService } from '../support/service.js';

/**
 * The registry schema's home: `/schemas/connectors_registry.schema.json` serves the schema of
 * schemas/, with `$id` set to that address when PUBLIC_URL is set, so a registry file's
 * `"$schema"` can point at the service; the README shows that line.
 */

const PATH = '/schemas/connectors_registry.schema.json';
const fileSchema = JSON.parse(readFileSync('schemas/connectors_registry.schema.json', 'utf8')) as Record<string, unknown>;

describe('registry schema home', () => {
  let withUrl: TestService;
  let withoutUrl: TestService;
  beforeAll(async () => {
    await flushTestRedis();
    withUrl = await startTestService({ env: { PUBLIC_URL: 'https://gatehouse.example.com' } });
    withoutUrl = await startTestService();
  });
  afterAll(async () => {
    await withUrl?.close();
    await withoutUrl?.close();
  });

  it('serves the schema with $id = PUBLIC_URL + path, without a token, as application/schema+json', async () => {
    const res = await fetch(`${withUrl.url}${PATH}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/schema+json; charset=utf-8');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    const served = (await res.json()) as Record<string, unknown>;
    expect(served.$id).toBe(`https://gatehouse.example.com${PATH}`);
    expect({ ...served, $id: fileSchema.$id }).toEqual(fileSchema);
  });

  it('the served schema validates a registry file that names it in "$schema", and rejects a broken one', async () => {
    const served = (await (await fetch(`${withUrl.url}${PATH}`)).json()) as Record<string, unknown>;
    const validate = new Ajv2020({ strict: false }).compile(served);
    expect(validate({ $schema: `https://gatehouse.example.com${PATH}`, connectors: [{ name: 'Weather', url: 'https://api.example.com/weather' }] })).toBe(true);
    expect(validate({ connectors: [{ url: 'https://api.example.com/weather' }] })).toBe(false);
  });

  it('without PUBLIC_URL keeps the schema\'s own $id (the service does not know its address)', async () => {
    const served = (await (await fetch(`${withoutUrl.url}${PATH}`)).json()) as Record<string, unknown>;
    expect(served).toEqual(fileSchema);
  });

  it('revalidates by ETag (304), answers HEAD, and only serves that one path', async () => {
    const first = await fetch(`${withUrl.url}${PATH}`);
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const again = await fetch(`${withUrl.url}${PATH}`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe('');
    const head = await fetch(`${withUrl.url}${PATH}`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('etag')).toBe(etag);
    // The two addresses serve different $id values, so their ETags differ.
    expect((await fetch(`${withoutUrl.url}${PATH}`)).headers.get('etag')).not.toBe(etag);
    for (const other of ['/schemas/', '/schemas/other.schema.json', '/schemas/..%2Fpackage.json']) {
      expect([other, (await fetch(`${withUrl.url}${other}`)).status]).toEqual([other, 404]);
    }
    expect((await fetch(`${withUrl.url}${PATH}`, { method: 'POST' })).status).toBe(404);
  });

  it('the README shows the "$schema" line with the served address', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(readme).toContain(`"$schema": "https://gatehouse.example.com${PATH}"`);
    expect(readme).toContain('PUBLIC_URL');
  });
});
