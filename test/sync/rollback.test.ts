import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/model.js';
import type { SyncRecord } from '../../src/sync/model.js';
import { Reconciler } from '../../src/sync/reconciler.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * Rollback with a pin (docs/sync.md#rollback-and-pinning): re-applies an earlier succeeded commit
 * of the link through the sync queue, pins the link (pushes and reconciliation are skipped),
 * unpin follows the branch again; every refusal is specific and changes nothing.
 */

const FILE = 'connectors_registry.json';
const REPO = 'acme/roll';

interface LinkItem { repository: string; applied_commit: string | null; pin: { commit: string; sync_id: string; restores_sync: string } | null }

describe('rollback and pinning', () => {
  let h: Harness;
  let first: string;
  let second: string;
  let broken: string;
  let otherLinkCommit: string;

  const links = async () => (await h.admin<{ items: LinkItem[] }>('GET', '/tenants/acme/repositories')).body.items;
  const roll = async () => (await links()).find((l) => l.repository === REPO)!;
  const live = async () => (await h.svc.services.registry.list('acme')).filter((c) => c.repository === REPO).map((c) => c.definition.permalink).sort();
  const syncCount = async () => (await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?tenant=acme&repository=${REPO}&limit=500`)).body.items.length;
  const rollback = (sha: unknown, repo = REPO) => h.admin<{ sync_id: string; sha: string; restores_sync: string; plan: unknown; error: { code: string; message: string; details?: unknown } }>('POST', `/tenants/acme/repositories/${repo}/rollback`, { sha });

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
    h.double.createRepo(REPO);
    h.double.createRepo('acme/other').commit('main', { [FILE]: registry([connector('Elsewhere')]) });
    h.double.repo(REPO).commit('main', { [FILE]: registry([connector('One')]) });
    await h.link('acme', REPO);
    first = (await h.settle('acme', REPO)).sha!;
    second = (await h.push(REPO, { [FILE]: registry([connector('One'), connector('Two')]) })).sha;
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', sha: second });
    broken = (await h.push(REPO, { [FILE]: '{"connectors": [' })).sha;
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'failed', sha: broken });
    await h.link('acme', 'acme/other');
    otherLinkCommit = (await h.settle('acme', 'acme/other')).sha!;
  });
  afterAll(async () => h?.close());

  it('refuses a commit that never succeeded, another link\'s commit, a malformed SHA or an unknown link, changing nothing', async () => {
    const before = { link: await roll(), live: await live(), syncs: await syncCount() };
    expect(before.link.applied_commit).toBe(second);

    const failed = await rollback(broken);
    expect([failed.status, failed.body.error.code]).toEqual([422, 'SHA_NOT_SUCCEEDED']);
    expect(failed.body.error.message).toContain('ended failed');
    const unknown = await rollback('0123456789abcdef0123456789abcdef01234567');
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'SHA_NOT_SUCCEEDED']);
    expect(unknown.body.error.message).toContain('no sync of link acme/acme/roll applied commit 0123456789ab');
    const other = await rollback(otherLinkCommit);
    expect([other.status, other.body.error.code]).toEqual([422, 'SHA_OF_ANOTHER_LINK']);
    expect(other.body.error.message).toContain('acme/other');
    for (const bad of ['xyz1234', 'abc', 42, '']) {
      const res = await rollback(bad);
      expect([bad, res.status]).toEqual([bad, 400]);
    }
    expect((await h.admin('POST', `/tenants/acme/repositories/${REPO}/rollback`, { sha: first, extra: 1 })).status).toBe(400);
    expect((await rollback(first, 'acme/unlinked')).body.error.code).toBe('REPOSITORY_NOT_LINKED');
    expect((await h.admin('POST', `/tenants/nobody/repositories/${REPO}/rollback`, { sha: first })).status).toBe(404);

    expect({ link: await roll(), live: await live(), syncs: await syncCount() }).toEqual(before);
  });

  describe('commits that cannot be named or read any more', () => {
    // A link of its own: its commits are chosen so that two applied ones share a 7-digit prefix.
    const TWINS = 'acme/twins';
    const twinA = `abcdef01${'1'.repeat(32)}`;
    const twinB = `abcdef02${'2'.repeat(32)}`;
    const state = async () => ({
      link: (await links()).find((l) => l.repository === TWINS),
      live: (await h.svc.services.registry.list('acme')).filter((c) => c.repository === TWINS).map((c) => c.definition.permalink).sort(),
      syncs: (await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?tenant=acme&repository=${TWINS}&limit=500`)).body.items.map((r) => [r.id, r.state]),
      queue: await h.svc.services.sync.coordinator.linkState('acme', TWINS),
    });
    const pushWithSha = async (sha: string, files: Record<string, string>, parent?: string) => {
      const repo = h.double.repo(TWINS);
      const before = repo.head('main');
      repo.commit('main', files, { sha, ...(parent !== undefined ? { parent } : {}) });
      expect((await h.deliverPush(TWINS, before, sha)).status).toBe(202);
      return h.settle('acme', TWINS);
    };

    beforeAll(async () => {
      h.double.createRepo(TWINS).commit('main', { [FILE]: registry([connector('Twin Zero')]) });
      await h.link('acme', TWINS);
      expect(await h.settle('acme', TWINS)).toMatchObject({ state: 'succeeded' });
      expect(await pushWithSha(twinA, { [FILE]: registry([connector('Twin A')]) })).toMatchObject({ state: 'succeeded', sha: twinA });
      expect(await pushWithSha(twinB, { [FILE]: registry([connector('Twin B')]) })).toMatchObject({ state: 'succeeded', sha: twinB });
    });

    it('refuses an abbreviated SHA that starts two commits the link applied (422 SHA_AMBIGUOUS), changing nothing', async () => {
      const before = await state();
      expect(before).toMatchObject({ link: { applied_commit: twinB, pin: null }, live: ['twin-b'], queue: {} });
      const refused = await rollback('ABCDEF0', TWINS);
      expect([refused.status, refused.body.error.code]).toEqual([422, 'SHA_AMBIGUOUS']);
      expect(refused.body.error.message).toContain('starts 2 commits');
      expect(refused.body.error.message).toContain(twinA.slice(0, 12));
      expect(refused.body.error.message).toContain(twinB.slice(0, 12));
      expect(await state()).toEqual(before);
    });

    it('refuses a commit force-pushed away that GitHub no longer has (422 SHA_GONE), even one this process read before, changing nothing', async () => {
      const gone = (await h.push(TWINS, { [FILE]: registry([connector('Twin Gone')]) })).sha;
      expect(await h.settle('acme', TWINS)).toMatchObject({ state: 'succeeded', sha: gone });
      // The branch is rewritten to a sibling of the commit, which GitHub then collects.
      const rewritten = `abcdef03${'3'.repeat(32)}`;
      const repo = h.double.repo(TWINS);
      repo.commit('main', { [FILE]: registry([connector('Twin Rewritten')]) }, { sha: rewritten, parent: twinB });
      repo.forget(gone);
      expect((await h.deliverPush(TWINS, gone, rewritten)).status).toBe(202);
      expect(await h.settle('acme', TWINS)).toMatchObject({ state: 'succeeded', sha: rewritten });
      const before = await state();
      const refused = await rollback(gone, TWINS);
      expect([refused.status, refused.body.error.code]).toEqual([422, 'SHA_GONE']);
      expect(refused.body.error.message).toContain(`commit ${gone.slice(0, 12)} is no longer in ${TWINS}`);
      expect(await state()).toEqual(before);
      // A commit still on the branch is accepted: the refusal was about that commit, not the link.
      const accepted = await rollback(twinA, TWINS);
      expect(accepted.status).toBe(202);
      expect(await h.waitForSync(accepted.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'rollback', sha: twinA });
      expect((await state()).live).toEqual(['twin-a']);
    });
  });

  it('refuses while a sync of the link is running (409), changing nothing', async () => {
    const held = h.double.hold({ path: new RegExp(`/repos/${REPO}/contents/`) });
    const { sha: pending } = await h.push(REPO, { [FILE]: '{"connectors": [], "oops": ' });
    await held.arrived();
    const before = await roll();
    const busy = await rollback(first);
    expect([busy.status, busy.body.error.code]).toEqual([409, 'SYNC_IN_PROGRESS']);
    expect(busy.body.error.message).toMatch(/sync sy_\w+ of link acme\/acme\/roll is running/);
    expect(await roll()).toEqual(before);
    held.release();
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'failed', sha: pending });
  });

  it('refuses a commit whose file would collide now (422 ROLLBACK_INVALID with the errors), changing nothing', async () => {
    // The head (broken) is not live; `second` is. Roll back to `first` (removing "two"), create a
    // manual "Two": rolling forward to `second` must now be refused.
    const res = await rollback(first.slice(0, 7));
    expect(res.status).toBe(202);
    await h.waitForSync(res.body.sync_id);
    expect((await h.admin('POST', '/tenants/acme/connectors', { name: 'Two', url: 'https://manual.example.com' })).status).toBe(201);
    const before = { link: await roll(), syncs: await syncCount() };
    const refused = await rollback(second);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'ROLLBACK_INVALID']);
    expect(refused.body.error.details).toEqual([expect.objectContaining({ permalink: 'two', file: FILE, message: expect.stringContaining('manual connector') })]);
    expect({ link: await roll(), syncs: await syncCount() }).toEqual(before);
    expect((await h.admin('DELETE', '/tenants/acme/connectors/two')).status).toBe(204);
  });

  it('re-applies an earlier succeeded commit through the sync queue and pins the link to it', async () => {
    const res = await rollback(second.slice(0, 10).toUpperCase());
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ sha: second, plan: { created: ['two'], updated: [], deleted: [] } });
    const record = await h.waitForSync(res.body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'rollback', sha: second, restores_sync: res.body.restores_sync, plan: { created: ['two'] } });
    expect(record.requested_by?.actor).toMatch(/^tok:[0-9a-f]{12}$/);
    const restored = await h.admin<SyncRecord>('GET', `/syncs/${res.body.restores_sync}`);
    expect(restored.body).toMatchObject({ state: 'succeeded', sha: second });
    expect(await roll()).toMatchObject({ applied_commit: second, pin: { commit: second, sync_id: res.body.sync_id, restores_sync: res.body.restores_sync } });
    expect(await live()).toEqual(['one', 'two']);
  });

  it('records pushes to a pinned link as skipped (pinned to …), applying nothing', async () => {
    const { sha } = await h.push(REPO, { [FILE]: registry([connector('Three')]) });
    const record = await h.settle('acme', REPO);
    expect(record).toMatchObject({ state: 'skipped', trigger: 'push', sha, pinned_to: second, last_error: `pinned to ${second.slice(0, 7)}` });
    expect(record.commit_status).toBeUndefined();
    expect(await live()).toEqual(['one', 'two']);
    expect((await roll()).applied_commit).toBe(second);
  });

  it('records reconciliation of a pinned link as skipped, once per new head', async () => {
    const s = h.svc.services.sync;
    const reconciler = new Reconciler({ redis: h.svc.services.redis, github: s.github, links: s.links, coordinator: s.coordinator, history: s.history, queues: s.queues, gate: s.gate, log: h.svc.services.log });
    const sha = h.double.repo(REPO).commit('main', { [FILE]: registry([connector('Four')]) });
    expect((await reconciler.run()).queued).toBe(1);
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'skipped', trigger: 'reconcile', sha, pinned_to: second });
    expect((await reconciler.run()).queued).toBe(0);
    expect(await live()).toEqual(['one', 'two']);
  });

  it('a manual resync of a pinned link re-applies the pinned commit', async () => {
    await h.svc.services.registry.removeLink('acme', REPO);
    const res = await h.admin<{ sync_id: string }>('POST', `/tenants/acme/repositories/${REPO}/sync`);
    expect(await h.waitForSync(res.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'manual', sha: second });
    expect(await live()).toEqual(['one', 'two']);
  });

  it('unpin applies the branch head and follows the branch again; a second unpin is 409', async () => {
    const res = await h.admin<{ sync_id: string; pinned_to: string }>('POST', `/tenants/acme/repositories/${REPO}/unpin`);
    expect(res.status).toBe(202);
    expect(res.body.pinned_to).toBe(second);
    const head = h.double.repo(REPO).head('main');
    expect(await h.waitForSync(res.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'unpin', sha: head });
    expect(await roll()).toMatchObject({ applied_commit: head, pin: null });
    expect(await live()).toEqual(['four']);
    const again = await h.admin<{ error: { code: string } }>('POST', `/tenants/acme/repositories/${REPO}/unpin`);
    expect([again.status, again.body.error.code]).toEqual([409, 'LINK_NOT_PINNED']);
    const { sha } = await h.push(REPO, { [FILE]: registry([connector('Five')]) });
    expect(await h.settle('acme', REPO)).toMatchObject({ state: 'succeeded', trigger: 'push', sha });
  });

  it('an unpin whose branch head fails validation leaves the link pinned with the errors on its record', async () => {
    const pinTo = (await h.settle('acme', REPO)).sha!;
    const res = await rollback(pinTo);
    await h.waitForSync(res.body.sync_id);
    await h.push(REPO, { [FILE]: '{"connectors": 7}' });
    expect((await h.settle('acme', REPO)).state).toBe('skipped');
    const unpin = await h.admin<{ sync_id: string }>('POST', `/tenants/acme/repositories/${REPO}/unpin`);
    const record = await h.waitForSync(unpin.body.sync_id);
    expect(record).toMatchObject({ state: 'failed', trigger: 'unpin' });
    expect(record.errors.length).toBeGreaterThan(0);
    expect((await roll()).pin?.commit).toBe(pinTo);
    expect(await live()).toEqual(['five']);
  });

  it('a push arriving while a rollback waits folds into it without changing its commit', async () => {
    const pinTo = (await roll()).pin!.commit;
    const restores = (await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?tenant=acme&repository=${REPO}&state=succeeded&limit=500`)).body.items.find((r) => r.sha === pinTo)!;
    // An unpin of a fresh head runs (held at its file read) while the rollback waits behind it.
    const held = h.double.hold({ path: new RegExp(`/repos/${REPO}/contents/`) });
    h.double.repo(REPO).commit('main', { [FILE]: registry([connector('Six')]) });
    expect((await h.admin('POST', `/tenants/acme/repositories/${REPO}/unpin`)).status).toBe(202);
    await held.arrived();
    // The API refuses while the link is busy; a rollback queued in that window (the race the
    // refusal cannot close) is what the coordinator must keep intact.
    expect((await rollback(pinTo)).body.error.code).toBe('SYNC_IN_PROGRESS');
    const queued = await h.svc.services.sync.coordinator.trigger({
      tenant: 'acme', repository: REPO, repoKey: REPO, branch: 'main', trigger: 'rollback', sha: pinTo, restoresSync: restores.id, requestedBy: { actor: 'tok:000000000000' },
    });
    const { delivery } = await h.push(REPO, { [FILE]: registry([connector('Seven')]) });
    expect(delivery.status).toBe(202);
    expect(await h.svc.services.sync.history.getIn('acme', queued.syncId)).toMatchObject({ state: 'queued', trigger: 'rollback', sha: pinTo, restores_sync: restores.id });
    held.release();
    expect(await h.waitForSync(queued.syncId)).toMatchObject({ state: 'succeeded', trigger: 'rollback', sha: pinTo });
    expect((await roll()).pin?.commit).toBe(pinTo);
    expect(await live()).toEqual(['five']);
  });

  it('re-pointing the link to another file drops the pin; commits applied before it are refused (422 SHA_BEFORE_REPOINT)', async () => {
    h.double.repo(REPO).commit('main', { 'other.json': registry([connector('Elsewhere In Roll')]) });
    const repointed = await h.link('acme', REPO, 'main', 'other.json');
    expect(repointed.status).toBe(200);
    expect(await h.waitForSync(repointed.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'link' });
    expect((await roll()).pin).toBeNull();
    const before = { link: await roll(), syncs: await syncCount() };
    const refused = await rollback(second);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'SHA_BEFORE_REPOINT']);
    expect(refused.body.error.message).toContain('file other.json');
    expect({ link: await roll(), syncs: await syncCount() }).toEqual(before);
  });

  it('rollback, pin, unpin and skipped syncs are in the sync history and the audit log, credited to the operator', async () => {
    const history = (await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?tenant=acme&repository=${REPO}&limit=500`)).body.items;
    expect(new Set(history.map((r) => r.trigger))).toEqual(new Set(['link', 'push', 'rollback', 'reconcile', 'manual', 'unpin']));
    expect(history.filter((r) => r.state === 'skipped').length).toBeGreaterThanOrEqual(3);
    const audit = (await h.admin<{ items: AuditEntry[] }>('GET', '/audit?tenant=acme&action=repository.&limit=100')).body.items;
    const actions = audit.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['repository.rollback', 'repository.pinned', 'repository.unpin', 'repository.unpinned']));
    const pinned = audit.find((e) => e.action === 'repository.pinned')!;
    expect(pinned.actor).toMatch(/^tok:[0-9a-f]{12}$/);
    expect(pinned.details).toMatchObject({ pinned_to: expect.stringMatching(/^[0-9a-f]{40}$/) });
    const refused = audit.filter((e) => e.action === 'repository.rollback' && e.status !== 202);
    expect(refused.map((e) => e.status)).toEqual(expect.arrayContaining([409, 422]));
    const skipped = (await h.admin<{ items: AuditEntry[] }>('GET', '/audit?tenant=acme&action=sync.skipped')).body.items;
    expect(skipped[0]).toMatchObject({ actor: 'sync', details: { pinned_to: expect.any(String) } });
  });
});
