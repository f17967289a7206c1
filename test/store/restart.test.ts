import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinition } from '../../src/registry/model.js';
import { RegistryView } from '../../src/registry/view.js';
import { adminClient, connectorJson, HS256_SECRET } from '../admin/support.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, testConfig, type TestService } from '../support/service.js';
import { connector } from './fixtures.js';

describe('stop and restart on the same Redis', () => {
  const config = testConfig();
  let second: TestService | undefined;
  beforeAll(async () => flushTestRedis());
  afterAll(async () => second?.close());

  it('keeps tenants, secrets, variables and connectors, all usable by new process objects', async () => {
    const first = await startTestService({ config });
    const call = adminClient(first.url);
    expect((await call('PUT', '/tenants/acme', { name: 'Acme', session: { alg: 'HS256', secret: HS256_SECRET }, allowed_origins: ['https://app.acme.example'], rate_limit_per_minute: 60 })).status).toBe(201);
    expect((await call('PUT', '/tenants/beta', { name: 'Beta', session: { jwks_url: 'https://login.beta.example/jwks' } })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/secrets/token', { value: 'tok-before-restart' })).status).toBe(201);
    expect((await call('PUT', '/tenants/acme/variables/host', { value: 'api.acme.example' })).status).toBe(201);
    expect((await call('POST', '/tenants/acme/connectors', JSON.stringify(connectorJson({ name: 'Manual One' })), { raw: true })).status).toBe(201);
    await first.services.registry.replaceLink('acme', 'acme/registry', { connectors: [connector('from-git')], composites: [], commitSha: 'abc123' });
    const before = {
      tenants: (await call('GET', '/tenants')).body,
      secrets: (await call('GET', '/tenants/acme/secrets')).body,
      variables: (await call('GET', '/tenants/acme/variables')).body,
      connectors: (await call('GET', '/tenants/acme/connectors')).body,
    };
    await first.close();

    second = await startTestService({ config });
    const again = adminClient(second.url);
    expect((await again('GET', '/tenants')).body).toEqual(before.tenants);
    expect((await again('GET', '/tenants/acme/secrets')).body).toEqual(before.secrets);
    expect((await again('GET', '/tenants/acme/variables')).body).toEqual(before.variables);
    expect((await again('GET', '/tenants/acme/connectors')).body).toEqual(before.connectors);

    // Usable, not just listed: the runtime readers decrypt and compile.
    const resolved = await second.services.secrets.resolve('acme', ['token'], ['host']);
    expect(resolved.secrets.get('token')).toBe('tok-before-restart');
    expect(resolved.variables.get('host')).toBe('api.acme.example');
    expect(await second.services.tenants.get('acme')).toEqual({
      id: 'acme',
      name: 'Acme',
      session: { alg: 'HS256', secret: HS256_SECRET },
      allowed_origins: ['https://app.acme.example'],
      rate_limit_per_minute: 60,
    });
    expect((await second.services.tenants.get('beta'))?.session).toEqual({ jwks_url: 'https://login.beta.example/jwks' });
    const view = new RegistryView(second.services.registry, (stored) => (stored.definition as ConnectorDefinition).url);
    expect((await view.get('acme', 'manual-one'))?.compiled).toBe('https://api.example.com/weather');
    expect((await view.get('acme', 'from-git'))?.stored).toMatchObject({ source: 'repository', repository: 'acme/registry', commit_sha: 'abc123' });
    view.close();

    // And writable: updates, the link's next sync, and a repository connector still read-only.
    expect((await again('PUT', '/tenants/acme/secrets/token', { value: 'tok-after-restart' })).status).toBe(200);
    expect((await second.services.secrets.resolve('acme', ['token'], [])).secrets.get('token')).toBe('tok-after-restart');
    expect(await second.services.registry.replaceLink('acme', 'acme/registry', { connectors: [], composites: [], commitSha: 'def456' })).toEqual({ created: [], updated: [], deleted: ['from-git'] });
    expect((await again('PUT', '/tenants/acme/connectors/manual-one', JSON.stringify(connectorJson({ name: 'Manual One', method: 'POST' })), { raw: true })).status).toBe(200);
  });
});
