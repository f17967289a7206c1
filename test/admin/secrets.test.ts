import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_NAME_LENGTH, MAX_VALUE_BYTES } from '../../src/secrets/store.js';
import type { TestService } from '../support/service.js';
import { adminClient, startAdminService } from './support.js';

describe('secrets and variables API', () => {
  let svc: TestService;
  let call: ReturnType<typeof adminClient>;
  beforeAll(async () => {
    ({ svc, call } = await startAdminService());
    expect((await call('PUT', '/tenants/acme', { name: 'Acme' })).status).toBe(201);
  });
  afterAll(async () => svc.close());

  it('PUT a secret: 201 created, then 200 updated; the value is never returned', async () => {
    const created = await call('PUT', '/tenants/acme/secrets/weather_api_key', { value: 'sk_live_abcdef' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'weather_api_key', kind: 'secret', masked: 's*********', updated_at: expect.any(String) });
    const updated = await call('PUT', '/tenants/acme/secrets/weather_api_key', { value: 'Zk_live_new' });
    expect(updated.status).toBe(200);
    expect(updated.body).toEqual({ name: 'weather_api_key', kind: 'secret', masked: 'Z*********', updated_at: expect.any(String) });
    expect(updated.text).not.toContain('live');
  });

  it('GET …/secrets lists {name, kind, masked, updated_at}: first character and exactly nine *', async () => {
    await call('PUT', '/tenants/acme/secrets/a_short', { value: 'x' });
    await call('PUT', '/tenants/acme/secrets/emoji', { value: '🔑-key-material' });
    await call('PUT', '/tenants/acme/variables/not_listed_here', { value: 'v' });
    const list = await call('GET', '/tenants/acme/secrets');
    expect(list.status).toBe(200);
    expect(list.body).toEqual({
      items: [
        { name: 'a_short', kind: 'secret', masked: 'x*********', updated_at: expect.any(String) },
        { name: 'emoji', kind: 'secret', masked: '🔑*********', updated_at: expect.any(String) },
        { name: 'weather_api_key', kind: 'secret', masked: 'Z*********', updated_at: expect.any(String) },
      ],
    });
    expect(list.text).not.toContain('key-material');
  });

  it('variables are readable: PUT 201/200 and GET …/variables lists values', async () => {
    const created = await call('PUT', '/tenants/acme/variables/api_environment', { value: 'staging' });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ name: 'api_environment', kind: 'variable', value: 'staging', updated_at: expect.any(String) });
    const updated = await call('PUT', '/tenants/acme/variables/api_environment', { value: 'production\nline two' });
    expect(updated.status).toBe(200);
    const list = await call('GET', '/tenants/acme/variables');
    expect(list.body.items).toEqual([
      { name: 'api_environment', kind: 'variable', value: 'production\nline two', updated_at: updated.body.updated_at },
      { name: 'not_listed_here', kind: 'variable', value: 'v', updated_at: expect.any(String) },
    ]);
  });

  it('one namespace, fixed kind: 409 NAME_TAKEN across kinds, both directions', async () => {
    const a = await call('PUT', '/tenants/acme/variables/weather_api_key', { value: 'x' });
    expect(a.status).toBe(409);
    expect(a.body.error).toEqual({ code: 'NAME_TAKEN', message: expect.stringContaining('already exists as a secret') });
    const b = await call('PUT', '/tenants/acme/secrets/api_environment', { value: 'x' });
    expect(b.status).toBe(409);
    expect(b.body.error.code).toBe('NAME_TAKEN');
    // Nothing changed.
    expect((await call('GET', '/tenants/acme/variables')).body.items[0].value).toBe('production\nline two');
  });

  it('names are case-sensitive identifiers: 400 INVALID_NAME otherwise', async () => {
    for (const name of ['instance-url', 'api%20key', '123env', 'api@key', 'ünicode', 'a'.repeat(MAX_NAME_LENGTH + 1)]) {
      for (const kind of ['secrets', 'variables']) {
        const res = await call('PUT', `/tenants/acme/${kind}/${name}`, { value: 'v' });
        expect(res.status, `${kind}/${name}`).toBe(400);
        expect(res.body.error.code).toBe('INVALID_NAME');
      }
    }
    for (const name of ['_x', 'Weather_API_key', 'a'.repeat(MAX_NAME_LENGTH), 'salesforce_instance_url']) {
      expect((await call('PUT', `/tenants/acme/variables/${name}`, { value: 'v' })).status, name).toBe(201);
    }
    // Case-sensitive: a different name, so no clash with weather_api_key.
    expect((await call('PUT', '/tenants/acme/variables/WEATHER_API_KEY', { value: 'v' })).status).toBe(201);
  });

  it('400 EMPTY_VALUE for empty or blank values; 400 VALUE_TOO_LONG over the limit', async () => {
    for (const value of ['', '   ', '\n\t']) {
      for (const kind of ['secrets', 'variables']) {
        const res = await call('PUT', `/tenants/acme/${kind}/empty_one`, { value });
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('EMPTY_VALUE');
      }
    }
    const long = await call('PUT', '/tenants/acme/secrets/too_long', { value: 'x'.repeat(MAX_VALUE_BYTES + 1) });
    expect(long.status).toBe(400);
    expect(long.body.error.code).toBe('VALUE_TOO_LONG');
    expect((await call('PUT', '/tenants/acme/secrets/just_fits', { value: 'x'.repeat(MAX_VALUE_BYTES) })).status).toBe(201);
  });

  it('400 INVALID_REQUEST for a missing or non-string value or extra fields; INVALID_JSON with position', async () => {
    for (const body of [{}, { value: 123 }, { value: null }, { value: ['a'] }, { value: 'x', kind: 'variable' }]) {
      const res = await call('PUT', '/tenants/acme/secrets/bad_body', body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('INVALID_REQUEST');
    }
    const res = await call('PUT', '/tenants/acme/secrets/bad_body', '{"value": "abc', { raw: true });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'INVALID_JSON', line: 1, column: 11 });
    expect(res.text).not.toContain('abc');
  });

  it('DELETE removes a name of that kind (204); otherwise 404', async () => {
    expect((await call('DELETE', '/tenants/acme/secrets/a_short')).status).toBe(204);
    const again = await call('DELETE', '/tenants/acme/secrets/a_short');
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('SECRET_NOT_FOUND');
    // A variable is not deleted through the secrets route, and vice versa.
    expect((await call('DELETE', '/tenants/acme/secrets/api_environment')).status).toBe(404);
    const wrongKind = await call('DELETE', '/tenants/acme/variables/weather_api_key');
    expect(wrongKind.status).toBe(404);
    expect(wrongKind.body.error.code).toBe('VARIABLE_NOT_FOUND');
    expect((await call('DELETE', '/tenants/acme/variables/api_environment')).status).toBe(204);
    expect((await call('DELETE', '/tenants/acme/variables/bad-name')).body.error.code).toBe('INVALID_NAME');
    // After deletion the name can be reused with the other kind.
    expect((await call('PUT', '/tenants/acme/secrets/api_environment', { value: 'now a secret' })).status).toBe(201);
  });

  it('404 TENANT_NOT_FOUND for every route of an unknown tenant', async () => {
    for (const [method, path, body] of [
      ['PUT', '/tenants/ghost/secrets/k', { value: 'v' }],
      ['PUT', '/tenants/ghost/variables/k', { value: 'v' }],
      ['GET', '/tenants/ghost/secrets', undefined],
      ['GET', '/tenants/ghost/variables', undefined],
      ['DELETE', '/tenants/ghost/secrets/k', undefined],
      ['DELETE', '/tenants/ghost/variables/k', undefined],
    ] as const) {
      const res = await call(method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.body.error.code).toBe('TENANT_NOT_FOUND');
    }
  });

  it('tenants are isolated', async () => {
    await call('PUT', '/tenants/other', { name: 'Other' });
    expect((await call('GET', '/tenants/other/secrets')).body).toEqual({ items: [] });
    // The same name in another tenant, with the other kind: no clash.
    expect((await call('PUT', '/tenants/other/variables/weather_api_key', { value: 'v' })).status).toBe(201);
  });

  it('SecretStore.resolve returns exactly the requested names of the right kind', async () => {
    await call('PUT', '/tenants/acme/secrets/token', { value: 'tok-123 & <raw>' });
    await call('PUT', '/tenants/acme/variables/host', { value: 'api.example.com' });
    const { secrets, variables } = await svc.services.secrets.resolve('acme', ['token', 'host', 'missing'], ['host', 'token', 'absent']);
    expect([...secrets]).toEqual([['token', 'tok-123 & <raw>']]);
    expect([...variables]).toEqual([['host', 'api.example.com']]);
    const none = await svc.services.secrets.resolve('acme', [], []);
    expect(none.secrets.size + none.variables.size).toBe(0);
    const unknownTenant = await svc.services.secrets.resolve('nobody', ['token'], ['host']);
    expect(unknownTenant.secrets.size + unknownTenant.variables.size).toBe(0);
    // Read your writes in the same process.
    await call('PUT', '/tenants/acme/secrets/token', { value: 'rotated' });
    expect((await svc.services.secrets.resolve('acme', ['token'], [])).secrets.get('token')).toBe('rotated');
  });
});
