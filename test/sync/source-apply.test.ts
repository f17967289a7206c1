import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * The source/apply split: a repository linked by many tenants is read and validated once per
 * commit (the source step), then applied per tenant. Counted on the GitHub double (contents
 * requests) and on the service's own counter of validations.
 */

const REPO = 'acme/shared-connectors';
const FILE = 'connectors_registry.json';
const TENANTS = Array.from({ length: 10 }, (_, i) => `tenant${i}`);

async function validations(h: Harness): Promise<number> {
  const metric = await h.svc.services.metrics.getSingleMetric('gatehouse_registry_validations_total')?.get();
  return metric?.values[0]?.value ?? 0;
}

describe('source step once per commit, apply per tenant', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
    for (const t of TENANTS) await h.createTenant(t);
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('Weather API')]) });
  });
  afterAll(async () => h?.close());

  it('ten tenants linking one repository: one contents request and one validation', async () => {
    const contents = h.double.count({ path: /\/contents\// });
    const before = await validations(h);
    for (const t of TENANTS) expect((await h.link(t, REPO)).status).toBe(201);
    for (const t of TENANTS) expect(await h.settle(t, REPO)).toMatchObject({ state: 'succeeded', plan: { created: ['weather-api'] } });
    expect(h.double.count({ path: /\/contents\// }) - contents).toBe(1);
    expect((await validations(h)) - before).toBe(1);
  });

  it('a push to the branch: one contents request and one validation, then every tenant applies it', async () => {
    const contents = h.double.count({ path: /\/contents\// });
    const before = await validations(h);
    const { sha, delivery } = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    expect(delivery).toMatchObject({ status: 202, body: { queued: 10 } });
    for (const t of TENANTS) {
      expect(await h.settle(t, REPO)).toMatchObject({ state: 'succeeded', sha, plan: { created: ['stock-quotes'], updated: [], deleted: [] } });
      expect((await h.svc.services.registry.list(t)).map((c) => c.definition.permalink)).toEqual(['stock-quotes', 'weather-api']);
    }
    expect(h.double.count({ path: /\/contents\// }) - contents).toBe(1);
    expect((await validations(h)) - before).toBe(1);
  });

  it('an invalid file is validated once and fails every tenant with the same errors', async () => {
    const before = await validations(h);
    const { sha } = await h.push(REPO, { [FILE]: '{"connectors": [{"name": "x"}]}\n' });
    const records = [];
    for (const t of TENANTS) records.push(await h.settle(t, REPO));
    for (const r of records) expect(r).toMatchObject({ state: 'failed', sha });
    expect(records[0]!.errors.length).toBeGreaterThan(0);
    for (const r of records) expect(r.errors).toEqual(records[0]!.errors);
    expect((await validations(h)) - before).toBe(1);
  });
});
