import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog, auditKeys } from '../../src/audit/log.js';
import { tokenFingerprint } from '../../src/http/admin/auth.js';
import { createLogger } from '../../src/logger.js';
import { TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';
import { adminClient, connectorJson, startAdminService } from './support.js';

/** The audit log through the admin API: what each write records, and how it is queried. */

describe('audit log of admin writes', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  const actor = tokenFingerprint(TEST_ADMIN_TOKEN);
  beforeAll(async () => {
    ({ svc, call } = await startAdminService());
  });
  afterAll(async () => svc.close());

  async function audit(query: string) {
    const res = await call('GET', `/audit${query}`);
    expect(res.status, res.text).toBe(200);
    return res.body.items as Record<string, any>[];
  }

  it('records who did what to which object, with revisions, never values; reads are not recorded', async () => {
    const as = { headers: { 'x-gatehouse-actor': 'terraform run 42\n' } };
    expect((await call('PUT', '/tenants/acme', { name: 'Acme', allowed_origins: ['https://a.example'] }, as)).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/api_token', { value: 'v-1' })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/variables/region', { value: 'eu' })).status).toBe(201);
    const created = await call('POST', '/tenants/acme/connectors', connectorJson({ name: 'Weather' }));
    expect(created.status).toBe(201);
    const updated = await call('PUT', '/tenants/acme/connectors/weather', connectorJson({ name: 'Weather', method: 'POST' }));
    expect(updated.status).toBe(200);
    expect((await call('POST', '/tenants/acme/connectors/test', { permalink: 'weather', request: {} })).status).toBe(200);
    expect((await call('DELETE', '/tenants/acme/connectors/weather/cache')).status).toBe(200);
    expect((await call('DELETE', '/tenants/acme/connectors/weather')).status).toBe(204);
    expect((await call('PUT', '/tenants/acme/secrets/bad-name', { value: 'v' })).status).toBe(400);
    expect((await call('DELETE', '/tenants/acme/variables/region')).status).toBe(204);
    await call('GET', '/tenants/acme/secrets');
    await call('GET', '/tenants/acme/connectors');

    const items = await audit('?tenant=acme');
    const brief = items.map((e) => [e.action, e.target, e.status]).reverse();
    expect(brief).toEqual([
      ['tenant.put', {}, 201],
      ['secret.put', { name: 'api_token' }, 201],
      ['variable.put', { name: 'region' }, 201],
      ['connector.create', { permalink: 'weather' }, 201],
      ['connector.put', { permalink: 'weather' }, 200],
      ['cache.purge', { permalink: 'weather' }, 200],
      ['connector.delete', { permalink: 'weather' }, 204],
      ['secret.put', { name: 'bad-name' }, 400],
      ['variable.delete', { name: 'region' }, 204],
    ]);
    for (const e of items) {
      expect(e.tenant).toBe('acme');
      expect(e.actor).toBe(actor);
      expect(Date.parse(e.at)).not.toBeNaN();
    }
    const byAction = (a: string) => items.find((e) => e.action === a)!;
    expect(byAction('tenant.put').actor_name).toBe('terraform run 42');
    expect(byAction('tenant.put').details).toEqual({ created: true, fields: ['allowed_origins', 'name'] });
    expect(byAction('secret.put').actor_name).toBeUndefined();
    expect(byAction('connector.create').details).toEqual({ new_revision: created.body.revision });
    expect(byAction('connector.put').details).toEqual({ old_revision: created.body.revision, new_revision: updated.body.revision });
    expect(created.body.revision).not.toBe(updated.body.revision);
    expect(byAction('connector.delete').details).toEqual({ old_revision: updated.body.revision });
    expect(byAction('cache.purge').details).toMatchObject({ removed: 0 });
    // Names, never values.
    expect(JSON.stringify(items)).not.toMatch(/"v-1"|"eu"/);
  });

  it('does not record callers without a valid token', async () => {
    const before = (await audit('?tenant=acme')).length;
    const res = await fetch(`${svc.url}/admin/v1/tenants/acme/secrets/x`, {
      method: 'PUT',
      headers: { authorization: 'Bearer wrong-token-0123456789', 'content-type': 'application/json' },
      body: '{"value": "v"}',
    });
    expect(res.status).toBe(403);
    expect((await audit('?tenant=acme')).length).toBe(before);
  });

  it('filters by tenant, action prefix and time, pages with before, newest first across tenants', async () => {
    expect((await call('PUT', '/tenants/beta', { name: 'Beta' })).status).toBe(201);
    const all = await audit('');
    expect(all[0]!.tenant).toBe('beta');
    expect(new Set(all.map((e) => e.tenant))).toEqual(new Set(['acme', 'beta']));
    for (let i = 1; i < all.length; i++) expect(Date.parse(all[i - 1]!.at)).toBeGreaterThanOrEqual(Date.parse(all[i]!.at));

    expect((await audit('?tenant=beta')).map((e) => e.action)).toEqual(['tenant.put']);
    expect((await audit('?tenant=acme&action=secret.')).map((e) => e.target.name)).toEqual(['bad-name', 'api_token']);
    expect((await audit('?tenant=nobody')).length).toBe(0);
    // actor: the X-Gatehouse-Actor name or the token fingerprint, exactly.
    expect((await audit(`?tenant=acme&actor=${encodeURIComponent('terraform run 42')}`)).map((e) => e.action)).toEqual(['tenant.put']);
    expect(await audit(`?tenant=acme&actor=${encodeURIComponent(actor)}`)).toHaveLength(9);
    expect(await audit('?tenant=acme&actor=terraform')).toEqual([]);
    expect(await audit('?tenant=acme&actor=sync')).toEqual([]);

    const page1 = await audit('?tenant=acme&limit=3');
    expect(page1).toHaveLength(3);
    const page2 = await audit(`?tenant=acme&limit=3&before=${page1[2]!.id}`);
    expect(page2).toHaveLength(3);
    expect(page2.map((e) => e.id)).toEqual((await audit('?tenant=acme')).slice(3, 6).map((e) => e.id));

    const since = new Date(Date.parse(all[0]!.at)).toISOString();
    expect((await audit(`?since=${encodeURIComponent(since)}`)).map((e) => e.tenant)).toContain('beta');
    expect(await audit(`?since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`)).toEqual([]);
  });

  it('answers a malformed query with 400 naming the parameter', async () => {
    const badSince = await call('GET', '/audit?since=yesterday');
    expect(badSince.status).toBe(400);
    expect(badSince.body.error.message).toMatch(/since: "yesterday" is not an RFC 3339 date-time/);
    const unknown = await call('GET', '/audit?tenat=acme');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/unknown field "tenat"/);
    expect((await call('GET', '/audit?limit=0')).status).toBe(400);
    expect((await call('GET', '/audit?before=abc')).status).toBe(400);
  });

  it('is in the OpenAPI document', async () => {
    const doc = (await call('GET', '/openapi.json')).body;
    const op = doc.paths['/admin/v1/audit'].get;
    expect(op.parameters.map((p: any) => p.name).sort()).toEqual(['action', 'actor', 'before', 'limit', 'since', 'tenant']);
    expect(op.responses['200'].content['application/json'].schema.properties.items.items.required).toEqual(['id', 'tenant', 'at', 'actor', 'action', 'target']);
  });

  it('keeps at most maxEntries per tenant: the oldest go', async () => {
    const log = new AuditLog(svc.services.redis, createLogger('silent'), 5);
    for (let i = 0; i < 12; i++) await log.record({ tenant: 'capped', actor: 'tok:test', action: 'secret.put', target: { name: `s${i}` } });
    expect(await svc.services.redis.xlen(auditKeys.stream('capped'))).toBe(5);
    const items = await log.query({ tenant: 'capped', limit: 100 });
    expect(items.map((e) => e.target.name)).toEqual(['s11', 's10', 's9', 's8', 's7']);
    expect(svc.services.audit.maxEntries).toBe(10_000);
  });
});
