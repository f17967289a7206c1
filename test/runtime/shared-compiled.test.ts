import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CompiledSimple } from '../../src/registry/compile.js';
import { runtimeFor } from '../../src/runtime/index.js';
import { requestPlan } from '../../src/runtime/request-plan.js';
import { compileTemplate } from '../../src/templates/index.js';
import type { TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, type Harness } from './harness.js';

/**
 * Connectors whose templates have the same source text share the compiled templates, and connectors
 * whose API key is configured alike share the bound strategy. Nothing of a tenant may live in the
 * shared part: each tenant still renders its own data and sends its own secret.
 */

const definition = (upstream: string, responseBody: string) => ({
  name: 'Orders',
  url: `${upstream}/orders/{{ tenant_id }}`,
  headers: [{ key: 'X-Who', value: "{{ get_variable('who') }}", overridable: false }],
  authentication: { type: 'api_key', config: { key: 'X-Api-Key', value: "{{ get_secret('api_key') }}", in: 'header' } },
  response_body: responseBody,
});

describe('compiled templates shared across connectors and tenants', () => {
  let h: Harness;
  let up: TestUpstream;
  const compiledOf = async (tenant: string) => (await runtimeFor(h.services).connectors.get(tenant, 'orders'))!.compiled as CompiledSimple;

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.createTenant('beta');
    for (const [tenant, key, who] of [['acme', 'acme-key-0123456789', 'Acme Inc'], ['beta', 'beta-key-9876543210', 'Beta Ltd']] as const) {
      await h.putSecret(tenant, 'api_key', key);
      await h.putVariable(tenant, 'who', who);
      await h.createConnector(tenant, definition(up.url, '{{ tenant_id }}: {{ (response.body | from_json).path }} for {{ (response.body | from_json).headers["x-who"] }}'));
    }
  });

  afterAll(async () => {
    await h?.close();
    await up?.close();
  });

  it('the same source text compiles to one template per field', () => {
    const a = compileTemplate("{{ get_secret('api_key') }}", 'auth');
    expect(compileTemplate("{{ get_secret('api_key') }}", 'auth')).toBe(a);
    // Another field has other rules (autoescape, what it may read): its own template.
    expect(compileTemplate("{{ get_secret('api_key') }}", 'header')).not.toBe(a);
  });

  it('two tenants with the same templates share them and still render and send their own data', async () => {
    const acme = await h.exec('orders');
    const beta = await h.exec('orders', { tenant: 'beta' });
    expect(acme.status).toBe(200);
    expect(beta.status).toBe(200);
    expect(acme.text).toBe('acme: /orders/acme for Acme Inc');
    expect(beta.text).toBe('beta: /orders/beta for Beta Ltd');
    const seen = up.requests.slice(-2);
    expect(seen.map((r) => [r.path, r.headers['x-api-key'], r.headers['x-who']])).toEqual([
      ['/orders/acme', 'acme-key-0123456789', 'Acme Inc'],
      ['/orders/beta', 'beta-key-9876543210', 'Beta Ltd'],
    ]);

    const [a, b] = [await compiledOf('acme'), await compiledOf('beta')];
    expect(a).not.toBe(b);
    expect(a.url).toBe(b.url);
    expect(a.responseBody).toBe(b.responseBody);
    expect(a.headers[0]!.template).toBe(b.headers[0]!.template);
    expect(requestPlan(a).auth).toBe(requestPlan(b).auth);

    // Called again in the other order: the applied key kept with the shared strategy is each tenant's own.
    const betaAgain = await h.exec('orders', { tenant: 'beta' });
    const acmeAgain = await h.exec('orders');
    expect([betaAgain.text, acmeAgain.text]).toEqual(['beta: /orders/beta for Beta Ltd', 'acme: /orders/acme for Acme Inc']);
    expect(up.requests.slice(-2).map((r) => r.headers['x-api-key'])).toEqual(['beta-key-9876543210', 'acme-key-0123456789']);
  });

  it('a secret change of one tenant reaches its calls through the shared strategy, not the other tenant', async () => {
    await h.exec('orders');
    await h.exec('orders', { tenant: 'beta' });
    await h.putSecret('acme', 'api_key', 'acme-key-rotated-000000');
    await h.exec('orders');
    await h.exec('orders', { tenant: 'beta' });
    expect(up.requests.slice(-2).map((r) => r.headers['x-api-key'])).toEqual(['acme-key-rotated-000000', 'beta-key-9876543210']);
  });

  it('a new revision recompiles: the changed template is the tenant’s own, the other keeps the shared one', async () => {
    const before = await compiledOf('beta');
    const r = await h.admin('PUT', '/tenants/acme/connectors/orders', definition(up.url, 'changed {{ tenant_id }}'));
    expect(r.status).toBeLessThan(300);
    expect((await h.exec('orders')).text).toBe('changed acme');
    expect((await h.exec('orders', { tenant: 'beta' })).text).toBe('beta: /orders/beta for Beta Ltd');
    const [a, b] = [await compiledOf('acme'), await compiledOf('beta')];
    expect(b).toBe(before);
    expect(a.responseBody).not.toBe(b.responseBody);
    expect(a.responseBody!.source).toBe('changed {{ tenant_id }}');
    // The unchanged URL template is still the one both share.
    expect(a.url).toBe(b.url);
  });
});
