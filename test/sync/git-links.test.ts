import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRecord } from '../../src/sync/model.js';
import { deliverGitea, deliverGitlab, gitHostApis, giteaPushPayload, gitlabPushPayload } from '../support/git-host-doubles.js';
import { startGitServer, type GitTestServer, type TestRepo } from '../support/git-server.js';
import { testRedisClient } from '../support/redis.js';
import { connector, registry, startHarness, type Harness } from './harness.js';

/**
 * Git links end to end: a real smart-HTTP Git server (git http-backend on 127.0.0.1) with
 * repositories made by the git CLI, Gatehouse's API and sync workers in process, GitLab- and
 * Gitea-shaped webhooks and status APIs.
 */

const GITLAB_SECRET = 'gitlab-webhook-token-for-tests-0123';
const GITEA_SECRET = 'gitea-webhook-secret-for-tests-4567';
const TOKEN = 'glpat-tokenvalue-Zx81-canary-0000';
const TENANT = 'acme';

let h: Harness;
let git: GitTestServer;
const apis = gitHostApis({ gitlab: [TOKEN], gitea: [TOKEN] });

beforeAll(async () => {
  h = await startHarness({ env: { GITLAB_WEBHOOK_SECRET: GITLAB_SECRET, GITEA_WEBHOOK_SECRET: GITEA_SECRET, GIT_POLL_INTERVAL_S: '0', PUBLIC_URL: 'https://gatehouse.example.com' } });
  h.svc.services.sync.configure({ gitPollTickMs: 200 });
  git = await startGitServer({ api: apis.handler });
  await h.createTenant(TENANT);
  await h.admin('PUT', `/tenants/${TENANT}/secrets/git_token`, { value: TOKEN });
});
afterAll(async () => {
  await h.close();
  await git.close();
});

const linkGit = (name: string, body: Record<string, unknown>) => h.admin<Record<string, unknown>>('PUT', `/tenants/${TENANT}/git/${name}`, body);
const settle = (name: string, timeoutMs?: number) => h.settle(TENANT, `git:${name}`, timeoutMs);

async function live(): Promise<Record<string, string>> {
  const res = await h.admin<{ items: { permalink: string; source: string; repository?: string }[] }>('GET', `/tenants/${TENANT}/connectors`);
  return Object.fromEntries(res.body.items.filter((c) => c.source === 'repository').map((c) => [c.permalink, c.repository ?? '']));
}

/** Waits until the link's newest finished sync is not `previous` (polling and webhooks are asynchronous). */
async function nextSync(name: string, previous: string, timeoutMs = 20_000): Promise<SyncRecord> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const last = await h.svc.services.sync.lastSync(TENANT, `git:${name}`);
    if (last !== null && last.id !== previous && !['queued', 'running'].includes(last.state)) return last;
    if (Date.now() > deadline) throw new Error(`no new sync of ${name} after ${previous}: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Git links over smart HTTP', () => {
  let repo: TestRepo;
  let first: string;

  it('links a branch (201), syncs it, lists it with its last sync, and records source git with the URL', async () => {
    repo = git.createRepo('group/monorepo');
    first = repo.commit({ 'connectors/connectors_registry.json': registry([connector('Alpha'), connector('Beta')]), 'README.md': 'other files of the monorepo' });
    const res = await linkGit('main-registry', { url: repo.url, branch: 'main', path: 'connectors/connectors_registry.json', provider: 'gitlab', token_secret: 'git_token' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ tenant: TENANT, name: 'main-registry', url: repo.url, branch: 'main', path: 'connectors/connectors_registry.json', provider: 'gitlab' });
    const record = await h.waitForSync(res.body.sync_id as string);
    expect(record).toMatchObject({ state: 'succeeded', source: 'git', repository: repo.url, sha: first, trigger: 'link', plan: { created: ['alpha', 'beta'], updated: [], deleted: [] } });
    expect(await live()).toEqual({ alpha: repo.url, beta: repo.url });

    const list = await h.admin<{ items: Record<string, unknown>[] }>('GET', `/tenants/${TENANT}/git`);
    expect(list.body.items).toEqual([expect.objectContaining({ name: 'main-registry', source: 'git', url: repo.url, applied_commit: first, token_secret: 'git_token', poll_interval_s: 0, last_sync: expect.objectContaining({ id: record.id }) })]);
    // GitHub links are listed apart.
    expect((await h.admin<{ items: unknown[] }>('GET', `/tenants/${TENANT}/repositories`)).body.items).toEqual([]);
    const byUrl = await h.admin<{ items: SyncRecord[] }>('GET', `/syncs?repository=${encodeURIComponent(repo.url)}`);
    expect(byUrl.body.items.map((r) => r.id)).toEqual([record.id]);
    // The status went to the GitLab API of the clone URL's origin.
    await expect.poll(() => apis.posted.find((p) => p.sha === first)).toMatchObject({ api: 'gitlab', project: 'group/monorepo', body: { state: 'success', name: 'gatehouse/connectors' } });
    // Linked to the sync record on the dashboard, like GitHub's statuses (PUBLIC_URL is set).
    expect(apis.posted.find((p) => p.sha === first)!.body.target_url).toBe(`https://gatehouse.example.com/ui/#/syncs/${record.id}`);
  });

  it('an update pushed and announced by a GitLab webhook is applied; a wrong X-Gitlab-Token is 401 and queues nothing', async () => {
    const before = repo.head();
    const prev = (await settle('main-registry')).id;
    const sha = repo.commit({ 'connectors/connectors_registry.json': registry([connector('Alpha', { method: 'POST' }), connector('Gamma')]) });
    const payload = gitlabPushPayload(repo.url, { branch: 'main', before, after: sha });
    const forged = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, payload, 'not-the-secret');
    expect(forged.status).toBe(401);
    expect((await h.svc.services.sync.lastSync(TENANT, 'git:main-registry'))!.id).toBe(prev);
    const res = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, payload, GITLAB_SECRET, 'e3b0c442-98fc-1c14-9afb-f4c8996fb924');
    expect(res).toEqual({ status: 202, body: { queued: 1 } });
    const record = await nextSync('main-registry', prev);
    expect(record).toMatchObject({ state: 'succeeded', trigger: 'push', sha, delivery_id: 'gitlab:e3b0c442-98fc-1c14-9afb-f4c8996fb924', pusher: 'jsmith', plan: { created: ['gamma'], updated: ['alpha'], deleted: ['beta'] } });
    const again = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, payload, GITLAB_SECRET, 'e3b0c442-98fc-1c14-9afb-f4c8996fb924');
    expect(again).toEqual({ status: 200, body: { queued: 0, duplicate: true } });
    // Another branch of the repository concerns no link.
    const other = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, gitlabPushPayload(repo.url, { branch: 'feature', before, after: sha }), GITLAB_SECRET);
    expect(other).toEqual({ status: 200, body: { queued: 0 } });
  });

  it('a broken commit fails with positions naming the file and keeps the live set', async () => {
    const prev = (await settle('main-registry')).id;
    const liveBefore = await live();
    const bad = repo.commit({ 'connectors/connectors_registry.json': '{\n  "connectors": [\n    {"name": "Broken", "url": 12}\n  ]\n}\n' });
    await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, gitlabPushPayload(repo.url, { branch: 'main', before: first, after: bad }), GITLAB_SECRET);
    const record = await nextSync('main-registry', prev);
    expect(record.state).toBe('failed');
    expect(record.sha).toBe(bad);
    expect(record.errors[0]).toMatchObject({ file: 'connectors/connectors_registry.json', line: 3 });
    expect(record.commit_status?.description).toContain('in connectors/connectors_registry.json');
    expect(await live()).toEqual(liveBefore);
  });

  it('a force-push back to an older commit applies that head; a replayed older delivery never wins over a newer head', async () => {
    const prev = (await settle('main-registry')).id;
    repo.forcePush('main', first);
    const sync = await h.admin<{ sync_id: string }>('POST', `/tenants/${TENANT}/git/main-registry/sync`);
    expect(sync.status).toBe(202);
    const record = await h.waitForSync(sync.body.sync_id);
    expect(record).toMatchObject({ state: 'succeeded', sha: first, trigger: 'manual' });
    expect(Object.keys(await live()).sort()).toEqual(['alpha', 'beta']);
    expect(record.id).not.toBe(prev);

    const newer = repo.commit({ 'connectors/connectors_registry.json': registry([connector('Delta')]) });
    const r1 = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, gitlabPushPayload(repo.url, { branch: 'main', before: first, after: newer }), GITLAB_SECRET);
    expect(r1.status).toBe(202);
    const applied = await nextSync('main-registry', record.id);
    expect(applied).toMatchObject({ state: 'succeeded', sha: newer });
    // A late delivery naming the older commit: the head is read again, and it is the live one.
    const late = await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, gitlabPushPayload(repo.url, { branch: 'main', before: first, after: first }), GITLAB_SECRET);
    expect(late.status).toBe(202);
    const replay = await nextSync('main-registry', applied.id);
    expect(replay).toMatchObject({ state: 'unchanged', sha: newer });
    expect(Object.keys(await live())).toEqual(['delta']);
  });

  it('deleting the file removes the link\'s connectors; deleting the link (200) removes them too', async () => {
    const prev = (await settle('main-registry')).id;
    const sha = repo.commit({ 'connectors/connectors_registry.json': null });
    await deliverGitlab(`${h.svc.url}/webhooks/gitlab`, gitlabPushPayload(repo.url, { branch: 'main', before: first, after: sha }), GITLAB_SECRET);
    const record = await nextSync('main-registry', prev);
    expect(record).toMatchObject({ state: 'succeeded', plan: { created: [], updated: [], deleted: ['delta'] } });
    expect(await live()).toEqual({});

    repo.commit({ 'connectors/connectors_registry.json': registry([connector('Epsilon')]) });
    const again = await h.admin<{ sync_id: string }>('POST', `/tenants/${TENANT}/git/main-registry/sync`);
    await h.waitForSync(again.body.sync_id);
    expect(await live()).toEqual({ epsilon: repo.url });
    const del = await h.admin<Record<string, unknown>>('DELETE', `/tenants/${TENANT}/git/main-registry`);
    expect(del).toEqual({ status: 200, body: { tenant: TENANT, name: 'main-registry', url: repo.url, deleted: ['epsilon'] } });
    expect(await live()).toEqual({});
    expect((await h.admin('GET', `/tenants/${TENANT}/git/main-registry`)).status).toBe(404);
  });
});

describe('Gitea/Forgejo webhooks and polling', () => {
  it('a push signed with X-Gitea-Signature or X-Forgejo-Signature syncs; a bad signature is 401 and queues nothing', async () => {
    const repo = git.createRepo('gitea/webhooks');
    const c1 = repo.commit({ 'connectors_registry.json': registry([connector('One')]) });
    const res = await linkGit('gitea', { url: repo.url, branch: 'main', token_secret: 'git_token', username: 'gatehouse-bot', provider: 'gitea' });
    expect(res.status).toBe(201);
    const first = await h.waitForSync(res.body.sync_id as string);
    expect(first).toMatchObject({ state: 'succeeded', sha: c1 });
    await expect.poll(() => apis.posted.find((p) => p.sha === c1)).toMatchObject({ api: 'gitea', project: 'gitea/webhooks', body: { state: 'success', context: 'gatehouse/connectors' } });

    const c2 = repo.commit({ 'connectors_registry.json': registry([connector('One'), connector('Two')]) });
    const payload = giteaPushPayload(repo.url, { branch: 'main', before: c1, after: c2 });
    const forged = await deliverGitea(`${h.svc.url}/webhooks/gitea`, payload, 'wrong-secret');
    expect(forged.status).toBe(401);
    const unsigned = await deliverGitea(`${h.svc.url}/webhooks/gitea`, payload, GITEA_SECRET, { signature: '' });
    expect(unsigned.status).toBe(401);
    expect((await h.svc.services.sync.lastSync(TENANT, 'git:gitea'))!.id).toBe(first.id);

    const ok = await deliverGitea(`${h.svc.url}/webhooks/gitea`, payload, GITEA_SECRET, { id: 'f6266e57-1b8e-4a4b-9e27-4b5b64d7c6f1' });
    expect(ok).toEqual({ status: 202, body: { queued: 1 } });
    const second = await nextSync('gitea', first.id);
    expect(second).toMatchObject({ state: 'succeeded', sha: c2, delivery_id: 'gitea:f6266e57-1b8e-4a4b-9e27-4b5b64d7c6f1', pusher: 'gitea', plan: { created: ['two'] } });
    expect((await deliverGitea(`${h.svc.url}/webhooks/gitea`, payload, GITEA_SECRET, { id: 'f6266e57-1b8e-4a4b-9e27-4b5b64d7c6f1' })).body).toEqual({ queued: 0, duplicate: true });

    const c3 = repo.commit({ 'connectors_registry.json': registry([connector('Three')]) });
    const forgejo = await deliverGitea(`${h.svc.url}/webhooks/gitea`, giteaPushPayload(repo.url, { branch: 'main', before: c2, after: c3 }), GITEA_SECRET, { forgejo: true });
    expect(forgejo).toEqual({ status: 202, body: { queued: 1 } });
    expect(await nextSync('gitea', second.id)).toMatchObject({ state: 'succeeded', sha: c3 });
    expect((await h.admin('DELETE', `/tenants/${TENANT}/git/gitea`)).status).toBe(200);
  });

  it('polling picks up a commit no webhook announced, and records why no commit status was sent', async () => {
    const repo = git.createRepo('plain/registry');
    repo.commit({ 'connectors_registry.json': registry([connector('Polled')]) });
    const res = await linkGit('plain', { url: repo.url, branch: 'main', poll_interval_s: 5 });
    expect(res.status).toBe(201);
    const first = await h.waitForSync(res.body.sync_id as string);
    expect(first.state).toBe('succeeded');
    await expect.poll(async () => (await h.svc.services.sync.history.getIn(TENANT, first.id))?.commit_status?.result).toBe('skipped');
    expect((await h.svc.services.sync.history.getIn(TENANT, first.id))!.commit_status!.message).toContain('no commit status API');
    const sha = repo.commit({ 'connectors_registry.json': registry([connector('Polled'), connector('Picked Up')]) });
    const polled = await nextSync('plain', first.id, 30_000);
    expect(polled).toMatchObject({ state: 'succeeded', trigger: 'reconcile', sha, plan: { created: ['picked-up'] } });
    expect((await h.admin('DELETE', `/tenants/${TENANT}/git/plain`)).status).toBe(200);
  });
});

describe('credentials and unreadable sources', () => {
  it('a private repository: no credentials and wrong credentials are refused at link time with their own reason; the right ones link', async () => {
    const repo = git.createRepo('private/registry', { auth: { username: 'gatehouse-bot', password: TOKEN } });
    repo.commit({ 'connectors_registry.json': registry([connector('Secret Thing')]) });
    const none = await linkGit('private', { url: repo.url, branch: 'main' });
    expect(none.status).toBe(422);
    expect(none.body).toMatchObject({ error: { code: 'REPOSITORY_NOT_READABLE', details: { reason: 'auth-required' } } });
    expect(JSON.stringify(none.body)).toContain('requires credentials');

    await h.admin('PUT', `/tenants/${TENANT}/secrets/wrong_token`, { value: 'wrong-token-value-9f' });
    const wrong = await linkGit('private', { url: repo.url, branch: 'main', username: 'gatehouse-bot', token_secret: 'wrong_token' });
    expect(wrong.status).toBe(422);
    expect(wrong.body).toMatchObject({ error: { code: 'REPOSITORY_NOT_READABLE', details: { reason: 'auth-failed' } } });
    expect(JSON.stringify(wrong.body)).not.toContain('wrong-token-value-9f');

    const missingSecret = await linkGit('private', { url: repo.url, branch: 'main', token_secret: 'no_such_secret' });
    expect(missingSecret).toMatchObject({ status: 422, body: { error: { code: 'SECRET_NOT_FOUND' } } });

    const inUrl = await linkGit('private', { url: repo.url.replace('http://', `http://gatehouse-bot:${TOKEN}@`), branch: 'main' });
    expect(inUrl).toMatchObject({ status: 400, body: { error: { code: 'INVALID_URL' } } });
    expect(JSON.stringify(inUrl.body)).not.toContain(TOKEN);

    const ok = await linkGit('private', { url: repo.url, branch: 'main', username: 'gatehouse-bot', token_secret: 'git_token' });
    expect(ok.status).toBe(201);
    expect(await h.waitForSync(ok.body.sync_id as string)).toMatchObject({ state: 'succeeded' });

    // Nothing in Redis holds the token in clear: not the link, not the records, not BullMQ's job data.
    const redis = testRedisClient();
    try {
      const dump: string[] = [];
      for (const key of await redis.keys('*')) {
        dump.push(key);
        const type = await redis.type(key);
        if (type === 'string') dump.push((await redis.get(key)) ?? '');
        if (type === 'hash') dump.push(...Object.entries(await redis.hgetall(key)).flat());
        if (type === 'list') dump.push(...(await redis.lrange(key, 0, -1)));
        if (type === 'set') dump.push(...(await redis.smembers(key)));
        if (type === 'zset') dump.push(...(await redis.zrange(key, 0, -1)));
      }
      const text = dump.join('\n');
      expect(text).toContain('git_token');
      expect(text).not.toContain(TOKEN);
      expect(text).not.toContain(Buffer.from(`gatehouse-bot:${TOKEN}`).toString('base64'));
    } finally {
      redis.disconnect();
    }

    // The password changes on the host: the next sync fails with the credential problem and keeps the set.
    await h.admin('PUT', `/tenants/${TENANT}/secrets/git_token`, { value: 'rotated-elsewhere-but-not-here' });
    const resync = await h.admin<{ sync_id: string }>('POST', `/tenants/${TENANT}/git/private/sync`);
    const failed = await h.waitForSync(resync.body.sync_id);
    expect(failed.state).toBe('failed');
    expect(failed.errors[0]!.message).toContain('refused the credentials of user "gatehouse-bot"');
    expect(await live()).toMatchObject({ 'secret-thing': repo.url });
    await h.admin('PUT', `/tenants/${TENANT}/secrets/git_token`, { value: TOKEN });
    expect((await h.admin('DELETE', `/tenants/${TENANT}/git/private`)).status).toBe(200);
  });

  it('a repository or branch that does not exist is a 422 at link time; bad input is a 400 naming the field', async () => {
    const missing = await linkGit('nothing', { url: `${git.origin}/nobody/nothing.git`, branch: 'main' });
    expect(missing).toMatchObject({ status: 422, body: { error: { code: 'REPOSITORY_NOT_READABLE', details: { reason: 'not-found' } } } });
    const repo = git.createRepo('group/branchless');
    repo.commit({ 'connectors_registry.json': registry([]) });
    const branch = await linkGit('branchless', { url: repo.url, branch: 'release' });
    expect(branch).toMatchObject({ status: 422, body: { error: { code: 'REPOSITORY_NOT_READABLE', details: { reason: 'branch-missing' } } } });
    expect((await h.admin('GET', `/tenants/${TENANT}/git/nothing`)).status).toBe(404);
    expect((await linkGit('Bad Name', { url: repo.url, branch: 'main' })).body).toMatchObject({ error: { code: 'INVALID_NAME' } });
    expect((await linkGit('x', { url: 'ftp://host/repo.git', branch: 'main' })).body).toMatchObject({ error: { code: 'INVALID_URL' } });
    expect((await linkGit('x', { url: repo.url, branch: 'main', poll_interval_s: 2 })).body).toMatchObject({ error: { code: 'INVALID_POLL_INTERVAL' } });
  });

  it('a branch deleted after linking fails the sync with its own message and keeps the live set', async () => {
    const repo = git.createRepo('group/vanishing');
    repo.commit({ 'README.md': 'default branch' });
    repo.commit({ 'connectors_registry.json': registry([connector('Stays')]) }, { branch: 'release' });
    const res = await linkGit('vanishing', { url: repo.url, branch: 'release' });
    expect(res.status).toBe(201);
    expect(await h.waitForSync(res.body.sync_id as string)).toMatchObject({ state: 'succeeded', plan: { created: ['stays'] } });
    repo.deleteBranch('release');
    const resync = await h.admin<{ sync_id: string }>('POST', `/tenants/${TENANT}/git/vanishing/sync`);
    const failed = await h.waitForSync(resync.body.sync_id);
    expect(failed.state).toBe('failed');
    expect(failed.errors[0]!.message).toContain('branch "release" does not exist');
    expect(await live()).toMatchObject({ stays: repo.url });
    expect((await h.admin('DELETE', `/tenants/${TENANT}/git/vanishing`)).status).toBe(200);
  });
});
