import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestService } from '../support/service.js';
import { adminClient, startAdminService } from './support.js';

/**
 * `GET /syncs?tenant=&repository=&state=&limit=` (docs/sync.md#admin-api): the parameters are coerced from text,
 * but an unknown parameter is an error: a typo such as `?status=failed` must not answer the
 * unfiltered history as if it were the filtered one.
 */
describe('GET /syncs query parameters', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  beforeAll(async () => {
    ({ svc, call } = await startAdminService());
  });
  afterAll(async () => svc.close());

  it('known parameters are accepted; limit is coerced from text', async () => {
    const r = await call('GET', '/syncs?tenant=acme&repository=octo/reg&state=failed&limit=20');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ items: [] });
    expect((await call('GET', '/syncs')).status).toBe(200);
  });

  it('an unknown parameter → 400 INVALID_REQUEST naming it', async () => {
    const r = await call('GET', '/syncs?status=failed');
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('INVALID_REQUEST');
    expect(r.body.error.details).toEqual([{ path: '/querystring', message: 'must NOT have additional properties: unknown field "status"' }]);
  });

  it('a non-numeric limit is still rejected', async () => {
    expect((await call('GET', '/syncs?limit=abc')).status).toBe(400);
  });
});
