import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { adminClient, connectorJson, startAdminService } from './support.js';

/**
 * A manual connector save and Test Connection answer the connector's warnings (a secret the
 * tenant does not have, a JSON response template that renders no JSON on a sample) with their
 * positions; warnings never block the save or the test.
 */

interface Warning { path: string; line: number; column: number; message: string }

describe('warnings in the answers of a manual save and of Test Connection', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  let upstream: TestUpstream;

  beforeAll(async () => {
    upstream = await startUpstream();
    ({ svc, call } = await startAdminService({ UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' }));
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/upstream_key', { value: 'sekret-value-1' })).status).toBe(201);
  });
  afterAll(async () => {
    await svc.close();
    await upstream.close();
  });

  const risky = () => JSON.stringify(connectorJson({
    name: 'Risky',
    url: `${upstream.url}/items`,
    headers: [{ key: 'X-Key', value: "{{ get_secret('upstream_kye') }}" }],
    response_content_type: 'application/json',
    response_body: '{{ items }}',
  }), null, 2);

  it('POST and PUT answer the warnings with their position in the text sent; the connector is saved', async () => {
    const text = risky();
    const res = await call('POST', '/tenants/acme/connectors', text, { raw: true });
    expect(res.status).toBe(201);
    const warnings = res.body.warnings as Warning[];
    expect(warnings).toHaveLength(2);
    const lines = text.split('\n');
    const [secret, json] = warnings;
    expect(secret!.message).toContain('has no secret "upstream_kye"');
    expect(lines[secret!.line - 1]!.slice(secret!.column - 1)).toMatch(/^get_secret\('upstream_kye'\)/);
    expect(json!.path).toBe('/response_body');
    expect(json!.message).toContain('{{ items | tojson }}');
    expect(lines[json!.line - 1]).toContain('"response_body": "{{ items }}"');
    expect((await call('GET', '/tenants/acme/connectors/risky')).status).toBe(200);

    const fixed = JSON.stringify(connectorJson({ name: 'Risky', url: `${upstream.url}/items`, headers: [{ key: 'X-Key', value: "{{ get_secret('upstream_key') }}" }], response_content_type: 'application/json', response_body: '{{ response.body | from_json | tojson }}' }));
    const put = await call('PUT', '/tenants/acme/connectors/risky', fixed, { raw: true });
    expect(put.status).toBe(200);
    expect(put.body.warnings).toEqual([]);
  });

  it('Test Connection answers the warnings of an unsaved connector (text or object), a saved one and a composite, and still runs it', async () => {
    const text = risky();
    const unsaved = await call('POST', '/tenants/acme/connectors/test', { connector: text });
    expect(unsaved.status).toBe(200);
    expect(unsaved.body.status).toBe(200);
    expect((unsaved.body.warnings as Warning[]).map((w) => w.path)).toEqual(['', '/response_body']);
    expect(text.split('\n')[(unsaved.body.warnings as Warning[])[1]!.line - 1]).toContain('"response_body"');

    const asObject = await call('POST', '/tenants/acme/connectors/test', { connector: JSON.parse(text) });
    expect((asObject.body.warnings as Warning[]).map((w) => w.path)).toEqual(['', '/response_body']);

    expect((await call('PUT', '/tenants/acme/connectors/saved-risky', risky(), { raw: true })).status).toBe(201);
    const saved = await call('POST', '/tenants/acme/connectors/test', { permalink: 'saved-risky' });
    expect(saved.status).toBe(200);
    expect((saved.body.warnings as Warning[]).map((w) => w.message)).toEqual([expect.stringContaining('upstream_kye'), expect.stringContaining('| tojson')]);

    const composite = await call('POST', '/tenants/acme/connectors/test', {
      composite: { name: 'Both', steps: [{ name: 'one', url: `${upstream.url}/a`, response_content_type: 'application/json', response_body: '{{ rows }}' }] },
    });
    expect(composite.status).toBe(200);
    expect(composite.body.warnings).toEqual([expect.objectContaining({ path: '/steps/0/response_body', message: expect.stringContaining('{{ rows | tojson }}') })]);

    const clean = await call('POST', '/tenants/acme/connectors/test', { connector: connectorJson({ name: 'Clean', url: `${upstream.url}/x` }) });
    expect(clean.body.warnings).toEqual([]);
  });
});
