import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { adminClient, connectorJson, startAdminService } from './support.js';

/**
 * The Test Connection body is checked as strictly as every other admin body (docs/admin-api.md):
 * no type coercion and unknown fields rejected, instead of silently coerced or dropped.
 */
describe('POST /tenants/{t}/connectors/test: strict request body', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  beforeAll(async () => {
    ({ svc, call } = await startAdminService());
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' })).status).toBe(201);
    expect((await call('POST', '/tenants/acme/connectors', connectorJson({ name: 'Five' }))).status).toBe(201);
  });
  afterAll(async () => svc.close());

  it('a number is not a permalink (no coercion to "5")', async () => {
    const r = await call('POST', '/tenants/acme/connectors/test', { permalink: 5 });
    expect(r.status).toBe(400);
    expect(r.body.error).toMatchObject({ code: 'INVALID_REQUEST', details: [{ path: '/body/permalink', message: 'must be string' }] });
  });

  it('unknown fields (a typo) are reported, not silently dropped', async () => {
    for (const [body, path, field] of [
      [{ permalink: 'five', request: { query: { q: '1' } } }, '/body/request', 'query'],
      [{ permalink: 'five', requests: {} }, '/body', 'requests'],
      [{ permalink: 'five', user: { firstname: 'Jo' } }, '/body/user', 'firstname'],
    ] as const) {
      const r = await call('POST', '/tenants/acme/connectors/test', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.error.code).toBe('INVALID_REQUEST');
      expect(r.body.error.details).toEqual([{ path, message: `must NOT have additional properties: unknown field "${field}"` }]);
    }
  });

  it('numbers stay allowed where the schema says so (query, path, header values; user.id)', async () => {
    const r = await call('POST', '/tenants/acme/connectors/test', {
      connector: connectorJson({ name: 'Draft', url: 'https://192.0.2.1/x' }),
      request: { queryParams: { n: 1, b: true } },
      user: { id: 7 },
    });
    // The body passed the schema; the connector itself is then refused (literal private address).
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('VALIDATION_FAILED');
  });
});
