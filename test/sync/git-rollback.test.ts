import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry } from '../../src/audit/model.js';
import type { LinkPin, SyncRecord } from '../../src/sync/model.js';
import { GitPoller } from '../../src/sync/git-poller.js';
import { deliverGitlab, gitlabPushPayload } from '../support/git-host-doubles.js';
import { startGitServer, type GitTestServer, type TestRepo } from '../support/git-server.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * Rollback with a pin for Git links (docs/sync.md#rollback-and-pinning), against a real Git
 * smart-HTTP server on 127.0.0.1 (git http-backend, a private repository read with a tenant
 * secret): the same request checks, sync, pin, skipped pushes and polls, unpin, history and audit
 * entries as a GitHub repository link.
 */

const GITLAB_SECRET = 'gitlab-webhook-token-for-rollback-0123';
const TOKEN = 'glpat-rollback-token-canary-0000';
const TENANT = 'acme';
const FILE = 'connectors_registry.json';

interface GitLinkItem { name: string; url: string; applied_commit: string | null; pin: LinkPin | null }

describe('Git links: rollback and pinning', () => {
  let h: Harness;
  let git: GitTestServer;
  let repo: TestRepo;
  let a: string;
  let b: string;

  const base = `/tenants/${TENANT}/git`;
  const link = async (name = 'roll') => (await h.admin<GitLinkItem>('GET', `${base}/${name}`)).body;
  const settle = (name = 'roll') => h.settle(TENANT, `git:${name}`);
  const live = async () => (await h.svc.services.registry.list(TENANT)).filter((c) => c.repository === repo.url).map((c) => c.definition.permalink).sort();
  const history = async () => (await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?tenant=${TENANT}&repository=${encodeURIComponent(repo.url)}&limit=500`)).body.items;
  const rollback = (sha: string, name = 'roll') => h.admin<{ sync_id: string; sha: string; restores_sync: string; plan: unknown; error: { code: string; message: string; details?: unknown } }>('POST', `${base}/${name}/rollback`, { sha });
  /** Everything a refusal must leave as it was. */
  const state = async () => ({
    link: await link(),
    live: await live(),
    syncs: (await history()).map((r) => [r.id, r.state]),
    queue: await h.svc.services.sync.coordinator.linkState(TENANT, 'git:roll'),
  });
  /** Commits on main and announces it with GitLab's push webhook; resolves with the sync it queued, finished. */
  const push = async (files: Record<string, string>) => {
    const before = repo.head();
    const sha = repo.commit(files);
    const res = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, gitlabPushPayload(repo.url, { branch: 'main', before, after: sha }), GITLAB_SECRET);
    expect(res).toEqual({ status: 202, body: { queued: 1 } });
    return { sha, record: await settle() };
  };

  beforeAll(async () => {
    h = await startHarness({ env: { GITLAB_WEBHOOK_SECRET: GITLAB_SECRET, GIT_POLL_INTERVAL_S: '0' } });
    git = await startGitServer();
    await h.createTenant(TENANT);
    await h.admin('PUT', `/tenants/${TENANT}/secrets/git_token`, { value: TOKEN });
    repo = git.createRepo('group/roll', { auth: { username: 'oauth2', password: TOKEN } });
    a = repo.commit({ [FILE]: registry([connector('Alpha')]) });
    const linked = await h.admin<{ sync_id: string }>('PUT', `${base}/roll`, { url: repo.url, branch: 'main', token_secret: 'git_token', provider: 'generic' });
    expect(linked.status).toBe(201);
    expect(await h.waitForSync(linked.body.sync_id)).toMatchObject({ state: 'succeeded', sha: a });
    const pushed = await push({ [FILE]: registry([connector('Alpha'), connector('Beta')]) });
    b = pushed.sha;
    expect(pushed.record).toMatchObject({ state: 'succeeded', trigger: 'push', sha: b });
  });
  afterAll(async () => {
    await h?.close();
    await git?.close();
  });

  it('refuses a commit the link never applied, another link\'s commit, an unknown link and an unpin of a link not pinned, changing nothing', async () => {
    const other = git.createRepo('group/other');
    const otherCommit = other.commit({ [FILE]: registry([connector('Elsewhere')]) });
    const otherLink = await h.admin<{ sync_id: string }>('PUT', `${base}/other`, { url: other.url, branch: 'main' });
    expect(await h.waitForSync(otherLink.body.sync_id)).toMatchObject({ state: 'succeeded', sha: otherCommit });

    const before = await state();
    expect(before).toMatchObject({ link: { applied_commit: b, pin: null }, live: ['alpha', 'beta'], queue: {} });
    const unknown = await rollback('0123456789abcdef0123456789abcdef01234567');
    expect([unknown.status, unknown.body.error.code]).toEqual([422, 'SHA_NOT_SUCCEEDED']);
    expect(unknown.body.error.message).toContain('no sync of Git link acme/roll applied commit 0123456789ab');
    const foreign = await rollback(otherCommit);
    expect([foreign.status, foreign.body.error.code]).toEqual([422, 'SHA_OF_ANOTHER_LINK']);
    expect(foreign.body.error.message).toContain(`POST /admin/v1/tenants/${TENANT}/git/other/rollback`);
    expect((await rollback(a, 'nope')).body.error.code).toBe('GIT_LINK_NOT_FOUND');
    expect((await h.admin('POST', `${base}/roll/rollback`, { sha: 'xyz1234' })).status).toBe(400);
    const notPinned = await h.admin<{ error: { code: string; message: string } }>('POST', `${base}/roll/unpin`);
    expect([notPinned.status, notPinned.body.error.code]).toEqual([409, 'LINK_NOT_PINNED']);
    expect(notPinned.body.error.message).toContain('Git link acme/roll is not pinned');
    expect(await state()).toEqual(before);
  });

  it('rolls back to an earlier commit read from the branch history: its connectors are live and the link is pinned', async () => {
    const res = await rollback(a.slice(0, 9));
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ sha: a, plan: { created: [], updated: [], deleted: ['beta'] } });
    const record = await h.waitForSync(res.body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', source: 'git', repository: repo.url, trigger: 'rollback', sha: a, restores_sync: res.body.restores_sync, plan: { deleted: ['beta'] } });
    expect(record.requested_by?.actor).toMatch(/^tok:[0-9a-f]{12}$/);
    expect((await h.admin<SyncRecord>('GET', `/syncs/${res.body.restores_sync}`)).body).toMatchObject({ state: 'succeeded', sha: a, trigger: 'link' });
    expect(await link()).toMatchObject({ applied_commit: a, pin: { commit: a, sync_id: res.body.sync_id, restores_sync: res.body.restores_sync } });
    expect(await live()).toEqual(['alpha']);
  });

  it('records a push and a poll of the pinned link as skipped (pinned to …), applying nothing', async () => {
    const { sha, record } = await push({ [FILE]: registry([connector('Gamma')]) });
    expect(record).toMatchObject({ state: 'skipped', trigger: 'push', sha, pinned_to: a, last_error: `pinned to ${a.slice(0, 7)}` });
    // A commit nobody announced: the poller finds the new head once, and that sync is skipped too.
    const polled = repo.commit({ [FILE]: registry([connector('Delta')]) });
    const poller = new GitPoller({ git: h.svc.services.git, coordinator: h.svc.services.sync.coordinator, log: h.svc.services.log });
    // Polled every 5 s and due now (changing the interval is no re-point: earlier commits stay eligible).
    const dueForPoll = async () => {
      const l = (await h.svc.services.git.links.get(TENANT, 'roll'))!;
      const settings = { name: l.name, url: l.url, match_key: l.match_key, branch: l.branch, path: l.path, username: l.username, token_secret: l.token_secret, poll_interval_s: 5, provider: l.provider };
      await h.svc.services.git.links.put(TENANT, settings, 0);
    };
    await dueForPoll();
    expect((await poller.run()).queued).toBe(1);
    expect(await settle()).toMatchObject({ state: 'skipped', trigger: 'reconcile', sha: polled, pinned_to: a });
    await dueForPoll();
    expect((await poller.run()).queued).toBe(0);
    expect(await live()).toEqual(['alpha']);
    expect(await link()).toMatchObject({ applied_commit: a, pin: { commit: a } });
  });

  it('a manual resync of the pinned link re-applies the pinned commit', async () => {
    await h.svc.services.registry.removeLink(TENANT, repo.url);
    const res = await h.admin<{ sync_id: string }>('POST', `${base}/roll/sync`);
    expect(await h.waitForSync(res.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'manual', sha: a });
    expect(await live()).toEqual(['alpha']);
  });

  it('unpin applies the branch head and follows the branch again', async () => {
    const res = await h.admin<{ sync_id: string; pinned_to: string }>('POST', `${base}/roll/unpin`);
    expect(res.status).toBe(202);
    expect(res.body.pinned_to).toBe(a);
    const head = repo.head();
    expect(await h.waitForSync(res.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'unpin', sha: head });
    expect(await link()).toMatchObject({ applied_commit: head, pin: null });
    expect(await live()).toEqual(['delta']);
    const { sha, record } = await push({ [FILE]: registry([connector('Epsilon')]) });
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'push', sha });
    expect(await live()).toEqual(['epsilon']);
  });

  it('refuses a commit a force-push rewrote away (422 SHA_GONE), changing nothing', async () => {
    const { sha: gone, record } = await push({ [FILE]: registry([connector('Zeta')]) });
    expect(record).toMatchObject({ state: 'succeeded', sha: gone });
    // The branch goes back one commit and on from there: `gone` is in no history of the branch.
    const parent = (await history()).find((r) => r.state === 'succeeded' && r.sha !== gone && r.trigger === 'push')!.sha!;
    repo.forcePush('main', parent);
    const { sha: rewritten, record: after } = await push({ [FILE]: registry([connector('Eta')]) });
    expect(after).toMatchObject({ state: 'succeeded', sha: rewritten });
    const before = await state();
    const refused = await rollback(gone);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'SHA_GONE']);
    expect(refused.body.error.message).toContain(`commit ${gone.slice(0, 12)} is no longer in ${repo.url}`);
    expect(await state()).toEqual(before);
    expect(await live()).toEqual(['eta']);
  });

  it('re-pointing the link to another file drops the pin', async () => {
    const res = await rollback(b);
    expect(await h.waitForSync(res.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'rollback', sha: b });
    expect((await link()).pin?.commit).toBe(b);
    repo.commit({ 'other.json': registry([connector('Theta')]) });
    const repointed = await h.admin<{ sync_id: string }>('PUT', `${base}/roll`, { url: repo.url, branch: 'main', path: 'other.json', token_secret: 'git_token', provider: 'generic' });
    expect(repointed.status).toBe(200);
    expect(await h.waitForSync(repointed.body.sync_id)).toMatchObject({ state: 'succeeded', trigger: 'link' });
    expect(await link()).toMatchObject({ pin: null });
    expect(await live()).toEqual(['theta']);
    const refused = await rollback(b);
    expect([refused.status, refused.body.error.code]).toEqual([422, 'SHA_BEFORE_REPOINT']);
  });

  it('rollback, pin, unpin and skipped syncs are in the sync history and the audit log, credited to the operator', async () => {
    const records = await history();
    expect(new Set(records.map((r) => r.trigger))).toEqual(new Set(['link', 'push', 'rollback', 'reconcile', 'manual', 'unpin']));
    expect(records.filter((r) => r.state === 'skipped').length).toBe(2);
    const audit = (await h.admin<{ items: AuditEntry[] }>('GET', `/audit?tenant=${TENANT}&action=repository.&limit=100`)).body.items;
    expect(audit.map((e) => e.action)).toEqual(expect.arrayContaining(['repository.rollback', 'repository.pinned', 'repository.unpin', 'repository.unpinned']));
    const pinned = audit.find((e) => e.action === 'repository.pinned')!;
    expect(pinned).toMatchObject({ actor: expect.stringMatching(/^tok:[0-9a-f]{12}$/), target: { repository: repo.url }, details: { pinned_to: expect.stringMatching(/^[0-9a-f]{40}$/) } });
    const requests = audit.filter((e) => e.action === 'repository.rollback');
    expect(requests.map((e) => e.status)).toEqual(expect.arrayContaining([202, 422]));
    expect(requests[0]!.target).toMatchObject({ name: 'roll' });
    const skipped = (await h.admin<{ items: AuditEntry[] }>('GET', `/audit?tenant=${TENANT}&action=sync.skipped`)).body.items;
    expect(skipped[0]).toMatchObject({ actor: 'sync', target: { repository: repo.url }, details: { pinned_to: expect.any(String) } });
  });
});
