import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tokenFingerprint } from '../../src/http/admin/auth.js';
import { TEST_ADMIN_TOKEN } from '../support/service.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/** Sync outcomes in the audit log, beside the operator writes that caused them. */

const REPO = 'acme/audited';
const FILE = 'connectors_registry.json';

describe('audit log of syncs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
    await h.startWorkers();
    await h.createTenant('acme');
    h.double.createRepo(REPO).commit('main', { [FILE]: registry([connector('Weather API')]) });
  });
  afterAll(async () => h?.close());

  const entries = async () => (await h.admin<{ items: Record<string, any>[] }>('GET', '/audit?tenant=acme&limit=1000')).body.items;

  it('records every sync outcome: actor sync, the pusher as actor name, commit, plan or error count', async () => {
    const linked = await h.link('acme', REPO);
    const first = await h.waitForSync(linked.body.sync_id);
    await expect.poll(async () => (await entries()).map((e) => e.action)).toContain('sync.succeeded');
    const { sha } = await h.push(REPO, { [FILE]: '{"connectors": [' });
    const failed = await h.settle('acme', REPO);
    expect(failed.state).toBe('failed');
    await expect.poll(async () => (await entries()).map((e) => e.action)).toContain('sync.failed');

    const items = (await entries()).reverse();
    expect(items.map((e) => e.action)).toEqual(['tenant.put', 'repository.link', 'sync.succeeded', 'sync.failed']);
    const [, link, succeeded, failure] = items;
    expect(link).toMatchObject({ actor: tokenFingerprint(TEST_ADMIN_TOKEN), target: { repository: REPO }, status: 201, details: { branch: 'main', sync_id: first.id } });
    expect(succeeded).toMatchObject({
      actor: 'sync',
      target: { repository: REPO },
      details: { sync_id: first.id, trigger: 'link', sha: first.sha, plan: { created: ['weather-api'], updated: [], deleted: [] } },
    });
    expect(succeeded!.actor_name).toBeUndefined();
    expect(failure).toMatchObject({ actor: 'sync', actor_name: 'monalisa', details: { sync_id: failed.id, trigger: 'push', sha, errors: 1 } });
  });
});
