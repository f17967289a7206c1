import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorDefinition } from '../../src/registry/model.js';
import type { SyncRecord } from '../../src/sync/model.js';
import { blobSha } from '../support/github-double-git.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * From a push on GitHub to live connectors: every path through the pipeline, checked through the
 * registry store (what the runtime reads), the sync records (what operators read) and the commit
 * statuses (what GitHub shows).
 */

const REPO = 'acme/connectors';
const FILE = 'connectors_registry.json';

describe('sync end to end', () => {
  let h: Harness;
  const live = async (tenant = 'acme') => (await h.svc.services.registry.list(tenant)).filter((c) => c.source === 'repository');
  const names = async (tenant = 'acme') => Object.fromEntries((await live(tenant)).map((c) => [c.definition.permalink, c.definition.name]));

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
    await h.createTenant('globex');
    const repo = h.double.createRepo(REPO);
    repo.commit('main', { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]), 'README.md': '# connectors\n' });
  });
  afterAll(async () => h?.close());

  it('links a repository: 201 with a queued first sync that makes the file live', async () => {
    const res = await h.link('acme', REPO);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ tenant: 'acme', repository: REPO, branch: 'main', path: FILE });
    const record = await h.waitForSync(res.body.sync_id);
    const head = h.double.repo(REPO).head('main')!;
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'link', sha: head, branch: 'main', repository: REPO, tenant: 'acme', errors: [] });
    expect(record.plan).toEqual({ created: ['stock-quotes', 'weather-api'], updated: [], deleted: [] });
    expect(record.duration_ms).toBeGreaterThanOrEqual(0);
    expect(await names()).toEqual({ 'weather-api': 'Weather API', 'stock-quotes': 'Stock Quotes' });
    const stored = await h.svc.services.registry.get('acme', 'weather-api');
    expect(stored).toMatchObject({ source: 'repository', repository: REPO, commit_sha: head, kind: 'connector' });
    expect((stored!.definition as ConnectorDefinition).url).toBe('https://api.example.com/weather%20api');

    const list = await h.admin<{ items: { repository: string; applied_commit: string; last_sync: SyncRecord }[] }>('GET', '/tenants/acme/repositories');
    expect(list.status).toBe(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({ repository: REPO, applied_commit: head, last_sync: { id: record.id, state: 'succeeded' } });
  });

  it('reports the result to GitHub as commit status gatehouse/connectors', async () => {
    const head = h.double.repo(REPO).head('main')!;
    await expect.poll(() => h.double.repo(REPO).statuses.find((s) => s.sha === head)).toBeDefined();
    const status = h.double.repo(REPO).statuses.find((s) => s.sha === head)!;
    expect(status).toMatchObject({ state: 'success', context: 'gatehouse/connectors' });
    expect(status.description!.length).toBeLessThanOrEqual(140);
    expect(status.description).toContain('2 connectors live');
    const last = (await h.svc.services.sync.lastSync('acme', REPO))!;
    await expect.poll(async () => (await h.svc.services.sync.history.get(last.id))?.commit_status?.result).toBe('posted');
  });

  it('a push answers 202 {queued: 1} in milliseconds and applies an update in place', async () => {
    const { sha, delivery } = await h.push(REPO, { [FILE]: registry([connector('Weather API', { method: 'POST' }), connector('Stock Quotes')]) });
    expect(delivery.status).toBe(202);
    expect(delivery.body).toEqual({ queued: 1 });
    expect(delivery.ms).toBeLessThan(500);
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'push', sha, delivery_id: delivery.deliveryId, pusher: 'monalisa' });
    expect(record.plan).toEqual({ created: [], updated: ['weather-api'], deleted: [] });
    expect(((await h.svc.services.registry.get('acme', 'weather-api'))!.definition as ConnectorDefinition).method).toBe('POST');
  });

  it('rename (same permalink, new name) updates in place; a changed permalink creates one and deletes the other', async () => {
    await h.push(REPO, { [FILE]: registry([connector('Weather API', { method: 'POST', name: 'Weather (v2)', permalink: 'weather-api' }), connector('Stock Quotes')]) });
    let record = await h.settle('acme', REPO);
    expect(record.plan).toEqual({ created: [], updated: ['weather-api'], deleted: [] });
    expect((await names())['weather-api']).toBe('Weather (v2)');

    await h.push(REPO, { [FILE]: registry([connector('Weather API', { method: 'POST', name: 'Weather (v2)', permalink: 'weather' }), connector('Stock Quotes')]) });
    record = await h.settle('acme', REPO);
    expect(record.plan).toEqual({ created: ['weather'], updated: [], deleted: ['weather-api'] });
    expect(await names()).toEqual({ weather: 'Weather (v2)', 'stock-quotes': 'Stock Quotes' });
  });

  it('a commit that does not touch the registry file records unchanged and touches nothing', async () => {
    const before = await live();
    const { sha } = await h.push(REPO, { 'README.md': '# connectors, edited\n' });
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'unchanged', sha, plan: { created: [], updated: [], deleted: [] } });
    expect(await live()).toEqual(before);
  });

  it('a broken commit (invalid JSON) leaves the previous set live, records the error with its position, posts failure', async () => {
    const before = await live();
    const { sha } = await h.push(REPO, { [FILE]: '{\n  "connectors": [\n    {"name": "A", "url": "https://a.example.com"},\n  ]\n}\n' });
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'failed', sha, plan: { created: [], updated: [], deleted: [] } });
    expect(record.errors).toHaveLength(1);
    expect(record.errors[0]).toMatchObject({ path: '', line: 4, column: 3 });
    expect(record.errors[0]!.message).toMatch(/invalid JSON/);
    expect(await live()).toEqual(before);
    await expect.poll(() => h.double.repo(REPO).statuses.find((s) => s.sha === sha)?.state).toBe('failure');
    expect(h.double.repo(REPO).statuses.find((s) => s.sha === sha)!.description).toMatch(/^acme: 1 error, nothing changed; line 4:3/);
  });

  it('several semantic errors are all recorded with line and column; nothing changes', async () => {
    const before = await live();
    const text = [
      '{',
      '  "connectors": [',
      '    {"name": "Good", "url": "https://good.example.com"},',
      '    {"name": "Bad URL", "url": "ftp://files.example.com"},',
      '    {"name": "Bad method", "url": "https://x.example.com", "method": "FETCH"},',
      '    {"name": "Good", "url": "https://dup.example.com"},',
      '    {"name": "Secret in the body", "url": "https://y.example.com", "response_body": "{{ get_secret(\'k\') }}"}',
      '  ]',
      '}',
      '',
    ].join('\n');
    const { sha } = await h.push(REPO, { [FILE]: text });
    const record = await h.settle('acme', REPO);
    expect(record.state).toBe('failed');
    expect(record.errors.map((e) => e.path)).toEqual(['/connectors/1/url', '/connectors/2/method', '/connectors/3/name', '/connectors/4/response_body']);
    for (const e of record.errors) {
      expect(e.line).toBeGreaterThan(0);
      expect(e.column).toBeGreaterThan(0);
    }
    const lines = new Set(record.errors.map((e) => e.line));
    expect([...lines].sort()).toEqual(expect.arrayContaining([4, 5, 6, 7]));
    expect(record.errors.find((e) => e.line === 4)).toMatchObject({ path: '/connectors/1/url', permalink: 'bad-url' });
    expect(await live()).toEqual(before);
    await expect.poll(() => h.double.repo(REPO).statuses.find((s) => s.sha === sha)?.state).toBe('failure');
  });

  it('a permalink colliding with a manual connector fails the whole file', async () => {
    const manual = await h.admin('POST', '/tenants/acme/connectors', { name: 'Manual One', url: 'https://manual.example.com' });
    expect(manual.status).toBe(201);
    const before = await live();
    const text = registry([connector('Weather API', { permalink: 'weather', name: 'Weather (v2)', method: 'POST' }), connector('Stock Quotes'), connector('Manual One'), connector('Brand New')]);
    const { sha } = await h.push(REPO, { [FILE]: text });
    const record = await h.settle('acme', REPO);
    expect(record.state).toBe('failed');
    expect(record.errors).toEqual([expect.objectContaining({ permalink: 'manual-one', path: '/connectors/2/name', line: 14, column: 15 })]);
    expect(record.errors[0]!.message).toContain('manual connector');
    expect(await live()).toEqual(before);
    expect((await h.svc.services.registry.get('acme', 'manual-one'))!.source).toBe('manual');
    expect(await h.svc.services.registry.get('acme', 'brand-new')).toBeUndefined();
    await expect.poll(() => h.double.repo(REPO).statuses.find((s) => s.sha === sha)?.state).toBe('failure');
    await h.admin('DELETE', '/tenants/acme/connectors/manual-one');
  });

  it('composite connectors sync like simple ones, in the same permalink namespace', async () => {
    const composite = {
      name: 'Contact Orders',
      steps: [
        { name: 'contact', url: 'https://api.example.com/contacts', query_parameters: [{ key: 'email', value: '{{ user.email }}' }] },
        { name: 'orders', url: 'https://api.example.com/orders', query_parameters: [{ key: 'id', value: '{{ (steps.contact.body | from_json).id }}' }] },
      ],
    };
    await h.push(REPO, { [FILE]: registry([connector('Weather API', { method: 'POST', name: 'Weather (v2)', permalink: 'weather' }), connector('Stock Quotes')], [composite]) });
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', plan: { created: ['contact-orders'], updated: [], deleted: [] } });
    expect(await h.svc.services.registry.get('acme', 'contact-orders')).toMatchObject({ kind: 'composite', source: 'repository' });

    const clash = registry([connector('Weather API', { method: 'POST', name: 'Weather (v2)', permalink: 'weather' }), connector('Contact Orders')], [composite]);
    await h.push(REPO, { [FILE]: clash });
    const failed = await h.settle('acme', REPO);
    expect(failed.state).toBe('failed');
    expect(failed.errors.some((e) => e.message.includes('duplicate permalink "contact-orders"'))).toBe(true);
    expect((await h.svc.services.registry.get('acme', 'stock-quotes'))?.source).toBe('repository');

    await h.push(REPO, { [FILE]: registry([connector('Weather API', { method: 'POST', name: 'Weather (v2)', permalink: 'weather' }), connector('Stock Quotes')]) });
    expect((await h.settle('acme', REPO)).plan).toEqual({ created: [], updated: [], deleted: ['contact-orders'] });
  });

  it('two tenants linked to one repository get independent copies', async () => {
    await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    await h.settle('acme', REPO);
    const res = await h.link('globex', REPO);
    expect(res.status).toBe(201);
    await h.waitForSync(res.body.sync_id);
    expect(Object.keys(await names('globex')).sort()).toEqual(['stock-quotes', 'weather-api']);

    // globex has a manual connector that collides with the next commit: only globex's sync fails.
    await h.admin('POST', '/tenants/globex/connectors', { name: 'News', url: 'https://news.example.com' });
    const { delivery } = await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes'), connector('News')]) });
    expect(delivery.body).toEqual({ queued: 2 });
    const [a, g] = await Promise.all([h.settle('acme', REPO), h.settle('globex', REPO)]);
    expect(a).toMatchObject({ state: 'succeeded', plan: { created: ['news'] } });
    expect(g.state).toBe('failed');
    expect((await h.svc.services.registry.get('acme', 'news'))!.source).toBe('repository');
    expect((await h.svc.services.registry.get('globex', 'news'))!.source).toBe('manual');

    // Unlinking one tenant removes only its copy.
    const del = await h.admin<{ deleted: string[] }>('DELETE', `/tenants/globex/repositories/${REPO}`);
    expect(del.status).toBe(200);
    expect(del.body.deleted).toEqual(['stock-quotes', 'weather-api']);
    expect(await live('globex')).toEqual([]);
    expect((await h.svc.services.registry.get('globex', 'news'))!.source).toBe('manual');
    expect(Object.keys(await names('acme')).sort()).toEqual(['news', 'stock-quotes', 'weather-api']);
  });

  it('deleting one connector from the file deletes it; `connectors: []` and a deleted file remove every connector of the link', async () => {
    await h.push(REPO, { [FILE]: registry([connector('Weather API'), connector('Stock Quotes')]) });
    expect((await h.settle('acme', REPO)).plan).toEqual({ created: [], updated: [], deleted: ['news'] });

    await h.admin('POST', '/tenants/acme/connectors', { name: 'Kept Manual', url: 'https://kept.example.com' });
    await h.push(REPO, { [FILE]: registry([]) });
    let record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', plan: { created: [], updated: [], deleted: ['stock-quotes', 'weather-api'] } });
    expect(await live()).toEqual([]);

    await h.push(REPO, { [FILE]: registry([connector('Weather API')]) });
    expect((await h.settle('acme', REPO)).plan.created).toEqual(['weather-api']);
    const { sha } = await h.push(REPO, { [FILE]: null });
    record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', sha, plan: { created: [], updated: [], deleted: ['weather-api'] } });
    expect(await live()).toEqual([]);
    expect((await h.svc.services.registry.get('acme', 'kept-manual'))!.source).toBe('manual');
    await expect.poll(() => h.double.repo(REPO).statuses.find((s) => s.sha === sha)?.description).toContain('0 connectors live');
  });

  it('a file at another path and branch; re-pointing a link (200) replaces its set', async () => {
    const repo = h.double.repo(REPO);
    const main = repo.head('main')!;
    repo.commit('release', { 'config/gatehouse.json': registry([connector('Release Only')]) }, { parent: main });
    const res = await h.link('acme', REPO, 'release', 'config/gatehouse.json');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ branch: 'release', path: 'config/gatehouse.json' });
    const record = await h.waitForSync(res.body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'link', branch: 'release', plan: { created: ['release-only'] } });
    // A push to the old branch is now acknowledged and ignored.
    const other = await h.push(REPO, { [FILE]: registry([connector('Main Only')]) }, { branch: 'main' });
    expect(other.delivery.status).toBe(200);
    expect(other.delivery.body).toEqual({ queued: 0 });
  });

  it('manual resync re-applies an unchanged head (202 {sync_id})', async () => {
    const res = await h.admin<{ sync_id: string }>('POST', `/tenants/acme/repositories/${REPO}/sync`);
    expect(res.status).toBe(202);
    const record = await h.waitForSync(res.body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'manual', plan: { created: [], updated: [], deleted: [] } });
  });

  it('records the blob SHA of the applied file (real git hashing)', async () => {
    const link = await h.svc.services.sync.links.get('acme', REPO);
    const repo = h.double.repo(REPO);
    const file = repo.fileAt(repo.head('release')!, 'config/gatehouse.json')!;
    expect(link!.applied).toMatchObject({ commit: repo.head('release'), blob: blobSha(file.content) });
  });

  it('a status the credential may not write is recorded as not_permitted, never fatal', async () => {
    h.double.repo(REPO).statusPermission = 403;
    const { sha } = await h.push(REPO, { 'config/gatehouse.json': registry([connector('Release Only'), connector('Another')]) }, { branch: 'release' });
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'succeeded', sha });
    await expect.poll(async () => (await h.svc.services.sync.history.get(record.id))?.commit_status).toMatchObject({ state: 'success', result: 'not_permitted' });
    h.double.repo(REPO).statusPermission = 201;
  });

  it('unlinks: 200 once the connectors are gone; the history stays queryable', async () => {
    const res = await h.admin<{ deleted: string[] }>('DELETE', `/tenants/acme/repositories/${REPO}`);
    expect(res.status).toBe(200);
    expect(res.body.deleted.sort()).toEqual(['another', 'release-only']);
    expect(await live()).toEqual([]);
    expect((await h.admin('DELETE', `/tenants/acme/repositories/${REPO}`)).status).toBe(404);
    const history = await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?tenant=acme&repository=${REPO}&limit=100`);
    expect(history.body.items.length).toBeGreaterThan(10);
    const times = history.body.items.map((r) => r.created_at);
    expect([...times].sort().reverse()).toEqual(times);
    const failed = await h.admin<{ items: SyncRecord[] }>('GET', '/syncs?tenant=acme&state=failed');
    expect(failed.body.items.length).toBe(4);
    expect(failed.body.items.every((r) => r.state === 'failed')).toBe(true);
  });
});
