import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { testRedisUrl } from '../support/redis.js';
import { connector, GITHUB_TOKEN, registry, startHarness, WEBHOOK_SECRET, type Harness } from './harness.js';

/**
 * GitHub trouble and dying workers: retries with backoff for 5xx and dropped connections, rate
 * limits honoured from their headers, permanent errors reported, and a worker killed mid-sync
 * leaving either the old or the new set — never a mix — with the job picked up again.
 */

const FILE = 'connectors_registry.json';
const names = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => connector(`${prefix} ${i}`));

describe('GitHub trouble', () => {
  let h: Harness;
  let n = 0;

  beforeAll(async () => {
    h = await startHarness();
    await h.createTenant('acme');
  });
  afterAll(async () => h?.close());
  afterEach(() => h.double.clearFaults());

  async function linked(): Promise<string> {
    const repo = `acme/r${++n}`;
    h.double.createRepo(repo).commit('main', { [FILE]: registry([connector('Old')]) });
    await h.waitForSync((await h.link('acme', repo)).body.sync_id);
    return repo;
  }

  it('retries GitHub 5xx and dropped connections with backoff, then succeeds', async () => {
    const repo = await linked();
    h.double.inject({ path: new RegExp(`/repos/${repo}/git/ref/`), times: 2, fault: { kind: 'status', status: 502 } });
    h.double.inject({ path: new RegExp(`/repos/${repo}/contents/`), times: 1, fault: { kind: 'network' } });
    const { sha } = await h.push(repo, { [FILE]: registry([connector('New')]) });
    const record = await h.settle('acme', repo);
    expect(record).toMatchObject({ state: 'succeeded', sha, attempts: 4 });
    expect(h.double.count({ path: new RegExp(`/repos/${repo}/git/ref/`), status: 502 })).toBe(2);
    expect((await h.svc.services.registry.list('acme')).some((c) => c.definition.permalink === 'new')).toBe(true);
  });

  it('honours a primary rate limit (x-ratelimit-reset): waits for the reset, spends no attempt, holds back every GitHub job', async () => {
    const repo = await linked();
    h.double.inject({ path: new RegExp(`/repos/${repo}/git/ref/`), fault: { kind: 'rate-limit', type: 'primary', resetInS: 1 } });
    const { sha } = await h.push(repo, { [FILE]: registry([connector('After Limit')]) });
    await expect.poll(() => h.double.count({ path: new RegExp(`/repos/${repo}/git/ref/`), status: 403 })).toBe(1);
    const limitedAt = h.double.requests.filter((r) => r.path.startsWith(`/repos/${repo}/git/ref/`) && r.status === 403)[0]!.at;
    const queues = await h.admin<{ github_blocked_until: string | null }>('GET', '/queues');
    expect(queues.body.github_blocked_until).not.toBeNull();
    const record = await h.settle('acme', repo, 20_000);
    expect(record).toMatchObject({ state: 'succeeded', sha, attempts: 1 });
    const next = h.double.requests.filter((r) => r.path.startsWith(`/repos/${repo}/git/ref/`) && r.at > limitedAt)[0]!;
    // The reset is a whole second plus a second of slack: nothing was retried before it.
    expect(next.at - limitedAt).toBeGreaterThanOrEqual(1000);
  });

  it('stops calling GitHub when a response spends the budget (x-ratelimit-remaining: 0), before any 403, and resumes after the reset', async () => {
    const repo = await linked();
    await h.settle('acme', repo);
    // One call left: the sync's first call spends it; the budget resets 2 s after that call.
    h.double.limitRate({ remaining: 1, resetInS: 2, from: 'spent' });
    const started = Date.now();
    const { sha } = await h.push(repo, { [FILE]: registry([connector('Within Budget')]) });
    await expect.poll(async () => (await h.admin<{ github_blocked_until: string | null }>('GET', '/queues')).body.github_blocked_until, { timeout: 60_000 }).not.toBeNull();
    const record = await h.settle('acme', repo, 60_000);
    expect(record).toMatchObject({ state: 'succeeded', sha });
    expect(h.double.requests.filter((r) => r.at >= started && r.status === 403)).toEqual([]);
    const calls = h.double.requests.filter((r) => r.at >= started && r.path.startsWith(`/repos/${repo}/`));
    // The call that spent the budget, then nothing until the reset plus a second of slack — however
    // close to its reset the budget was spent (on a loaded machine the first call can come late).
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1000);
  });

  it('honours a secondary rate limit (retry-after)', async () => {
    const repo = await linked();
    h.double.inject({ path: new RegExp(`/repos/${repo}/contents/`), fault: { kind: 'rate-limit', type: 'secondary', status: 429, retryAfterS: 1 } });
    await h.push(repo, { [FILE]: registry([connector('After Retry After')]) });
    await expect.poll(() => h.double.count({ path: new RegExp(`/repos/${repo}/contents/`), status: 429 })).toBe(1);
    const limitedAt = h.double.requests.filter((r) => r.path.startsWith(`/repos/${repo}/contents/`) && r.status === 429)[0]!.at;
    const record = await h.settle('acme', repo, 20_000);
    expect(record).toMatchObject({ state: 'succeeded', attempts: 1 });
    const next = h.double.requests.filter((r) => r.path.startsWith(`/repos/${repo}/`) && r.at > limitedAt)[0]!;
    expect(next.at - limitedAt).toBeGreaterThanOrEqual(900);
  });

  it('gives up after the configured attempts: failed, status error, previous set live, job failed', async () => {
    const repo = await linked();
    const failedBefore = (await h.svc.services.sync.queues.sync.getJobCounts('failed')).failed!;
    h.double.inject({ path: new RegExp(`/repos/${repo}/contents/`), times: Infinity, fault: { kind: 'status', status: 503 } });
    const { sha } = await h.push(repo, { [FILE]: registry([connector('Never')]) });
    const record = await h.settle('acme', repo, 20_000);
    expect(record).toMatchObject({ state: 'failed', sha, attempts: 4 });
    expect(record.errors[0]!.message).toContain('503');
    expect((await h.svc.services.registry.list('acme')).some((c) => c.definition.permalink === 'never')).toBe(false);
    await expect.poll(() => h.double.repo(repo).statuses.find((s) => s.sha === sha)?.state).toBe('error');
    expect(h.double.repo(repo).statuses.find((s) => s.sha === sha)!.description).toMatch(/^acme: could not sync: /);
    expect((await h.svc.services.sync.queues.sync.getJobCounts('failed')).failed).toBe(failedBefore + 1);
    h.double.clearFaults();
    // The next push works again: the link is not stuck.
    await h.push(repo, { [FILE]: registry([connector('Works Again')]) });
    expect(await h.settle('acme', repo)).toMatchObject({ state: 'succeeded' });
  });

  it('a missing branch or unreadable repository fails at once without retries', async () => {
    const repo = await linked();
    h.double.repo(repo).deleteBranch('main');
    const id = await h.svc.services.sync.resync('acme', repo);
    const record = await h.waitForSync(id);
    expect(record).toMatchObject({ state: 'failed', attempts: 1, sha: null });
    expect(record.errors[0]!.message).toContain('branch "main" of ' + repo + ' was not found');
    expect(h.double.count({ path: new RegExp(`/repos/${repo}/git/ref/heads/main`), status: 404 })).toBe(1);
  });
});

describe('bad credentials', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { GITHUB_TOKEN: 'ghp_not_accepted_by_the_double' } });
    await h.createTenant('acme');
    h.double.createRepo('acme/creds').commit('main', { [FILE]: registry([connector('X')]) });
  });
  afterAll(async () => h?.close());

  it('refuses the link at once with GitHub\'s answer (422), never the token', async () => {
    const res = await h.link('acme', 'acme/creds');
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toContain('401');
    expect(JSON.stringify(res.body)).not.toContain('ghp_not_accepted_by_the_double');
  });

  it('fails the sync with GitHub\'s message, never the token', async () => {
    // The token worked when the link was made and was revoked afterwards.
    const tokens = h.double.options.tokens!;
    tokens.push('ghp_not_accepted_by_the_double');
    expect((await h.link('acme', 'acme/creds')).status).toBe(201);
    await h.settle('acme', 'acme/creds');
    tokens.pop();
    const record = await h.waitForSync(await h.svc.services.sync.resync('acme', 'acme/creds'));
    expect(record).toMatchObject({ state: 'failed', attempts: 1 });
    expect(record.errors[0]!.message).toContain('401');
    expect(JSON.stringify(record)).not.toContain('ghp_not_accepted_by_the_double');
  });
});

// Worker processes are spawned (tsx) and killed: on a busy 2-core machine starting one can take
// tens of seconds, so waits are bounded generously — each waits for a condition, never for time.
describe('workers stopping and dying', { timeout: 300_000 }, () => {
  let h: Harness;
  const children: ChildProcess[] = [];
  const fixture = fileURLToPath(new URL('./fixtures/worker-process.ts', import.meta.url));

  beforeAll(async () => {
    h = await startHarness({ workers: false });
    await h.createTenant('acme');
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    await h?.close();
  });

  async function spawnWorker(): Promise<ChildProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture], {
      env: {
        ...process.env,
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        REDIS_URL: testRedisUrl(),
        GITHUB_API_URL: h.double.url,
        GITHUB_TOKEN,
        GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET,
        GATEHOUSE_MASTER_KEY: h.svc.config.masterKey.toString('base64'),
        GATEHOUSE_ADMIN_TOKEN: h.svc.config.adminToken,
        GATEHOUSE_HOME: h.svc.config.homeDir,
        RECONCILE_INTERVAL_S: '0',
        // A job lock must outlive event-loop stalls of a busy machine (a lost lock makes a live
        // worker's job look stalled); a dead worker's job is still taken over a few seconds later.
        TEST_LOCK_MS: '5000',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 120_000;
    while (!out.includes('ready')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker process did not start (exit ${child.exitCode})`);
      await new Promise((r) => setTimeout(r, 25));
    }
    return child;
  }

  async function kill(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await once(child, 'exit');
  }

  it('a worker process SIGKILLed mid-sync leaves the old set; the job is retried by another worker and the new set goes live', async () => {
    const repo = 'acme/killed';
    h.double.createRepo(repo).commit('main', { [FILE]: registry(names(50, 'Old')) });
    const child = await spawnWorker();
    await h.waitForSync((await h.link('acme', repo)).body.sync_id, 120_000);
    const hold = h.double.hold({ path: new RegExp(`/repos/${repo}/contents/`) });
    const { sha } = await h.push(repo, { [FILE]: registry(names(50, 'New')) });
    await hold.arrived();
    await kill(child);
    hold.release();
    const live = async () => (await h.svc.services.registry.list('acme')).map((c) => c.definition.permalink);
    expect((await live()).every((p) => p.startsWith('old-'))).toBe(true);
    const sync = (await h.svc.services.sync.lastSync('acme', repo))!;
    expect(sync.state).toBe('running');

    // Another worker (this process) finds the dead worker's job stalled and runs it again.
    await h.startWorkers({ lockDurationMs: 5000, stalledIntervalMs: 300 });
    const record = await h.waitForSync(sync.id, 120_000);
    expect(record).toMatchObject({ state: 'succeeded', sha });
    const job = await h.svc.services.sync.queues.sync.getJob(sync.id);
    expect(job?.attemptsStarted ?? 2).toBeGreaterThanOrEqual(2);
    expect(h.double.count({ path: new RegExp(`/repos/${repo}/contents/`) })).toBeGreaterThanOrEqual(3);
    const after = await live();
    expect(after).toHaveLength(50);
    expect(after.every((p) => p.startsWith('new-'))).toBe(true);
    await h.workers!.close();
    h.workers = undefined;
  });

  it('a job that stalls more often than allowed is failed and recorded; the link is released', async () => {
    const repo = 'acme/stalls';
    h.double.createRepo(repo).commit('main', { [FILE]: registry([connector('Stall Old')]) });
    const child = await spawnWorker();
    await h.waitForSync((await h.link('acme', repo)).body.sync_id, 120_000);
    const hold = h.double.hold({ path: new RegExp(`/repos/${repo}/contents/`) });
    await h.push(repo, { [FILE]: registry([connector('Stall New')]) });
    await hold.arrived();
    await kill(child);
    hold.release();
    const stuck = (await h.svc.services.sync.lastSync('acme', repo))!;
    await h.startWorkers({ lockDurationMs: 5000, stalledIntervalMs: 300, maxStalledCount: 0 });
    const record = await h.waitForSync(stuck.id, 120_000);
    expect(record.state).toBe('failed');
    expect(record.errors[0]!.message).toContain('stalled');
    expect((await h.svc.services.registry.list('acme')).some((c) => c.definition.permalink === 'stall-old')).toBe(true);
    await h.push(repo, { [FILE]: registry([connector('Stall Newer')]) });
    expect(await h.settle('acme', repo)).toMatchObject({ state: 'succeeded', plan: { created: ['stall-newer'], deleted: ['stall-old'] } });
    await h.workers!.close();
    h.workers = undefined;
  });

  it('killed at random points of large syncs: readers always see all-old or all-new, never a mix', async () => {
    const repo = 'acme/hammer';
    h.double.createRepo(repo).commit('main', { [FILE]: registry(names(400, 'Gen 0')) });
    const child0 = await spawnWorker();
    await h.waitForSync((await h.link('acme', repo)).body.sync_id, 120_000);
    await kill(child0);
    let generation = 0;
    for (let round = 1; round <= 3; round++) {
      const child = await spawnWorker();
      const contentsBefore = h.double.count({ path: new RegExp(`/repos/${repo}/contents/`) });
      await h.push(repo, { [FILE]: registry(names(400, `Gen ${round}`)) });
      // A spawned worker needs a while to start on a loaded machine: wait for its request, however long.
      await expect.poll(() => h.double.count({ path: new RegExp(`/repos/${repo}/contents/`) }), { timeout: 90_000, interval: 5 }).toBeGreaterThan(contentsBefore);
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 120)));
      await kill(child);
      const ofRepo = async () => (await h.svc.services.registry.list('acme')).filter((c) => c.repository === repo).map((c) => c.definition.permalink);
      const prefixes = new Set((await ofRepo()).map((p) => p.split('-').slice(0, 2).join('-')));
      expect(prefixes.size).toBe(1);
      const seen = Number([...prefixes][0]!.split('-')[1]);
      expect([generation, round]).toContain(seen);
      // Let a fresh worker finish the round (the stalled job is retried), then check again.
      const next = await spawnWorker();
      await h.settle('acme', repo, 120_000);
      await kill(next);
      const final = await ofRepo();
      expect(final).toHaveLength(400);
      expect(final.every((p) => p.startsWith(`gen-${round}-`))).toBe(true);
      generation = round;
    }
  }, 600_000);

  it('close() (SIGTERM) lets the running sync finish before the worker stops', async () => {
    const repo = 'acme/graceful';
    h.double.createRepo(repo).commit('main', { [FILE]: registry([connector('Before')]) });
    await h.startWorkers();
    await h.waitForSync((await h.link('acme', repo)).body.sync_id);
    const hold = h.double.hold({ path: new RegExp(`/repos/${repo}/contents/`) });
    const { sha } = await h.push(repo, { [FILE]: registry([connector('After')]) });
    await hold.arrived();
    let closed = false;
    const closing = h.workers!.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 200));
    expect(closed).toBe(false);
    expect(h.svc.services.workersRunning()).toBe(false);
    hold.release();
    await closing;
    const record = (await h.svc.services.sync.lastSync('acme', repo))!;
    expect(record).toMatchObject({ state: 'succeeded', sha });
  });
});
