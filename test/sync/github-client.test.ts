import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitHub, GitHubError, type GitHub } from '../../src/github/index.js';
import { createLogger } from '../../src/logger.js';
import { blobSha } from '../support/github-double-git.js';
import { GitHubDouble, type DoubleRepository } from '../support/github-double.js';
import { testConfig } from '../support/service.js';

const TOKEN = 'ghp_clienttest00000000000000000000000000';
const log = createLogger('silent');

async function failure(p: Promise<unknown>): Promise<GitHubError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GitHubError);
    return err as GitHubError;
  }
  throw new Error('expected a GitHubError');
}

describe('GitHub client (token)', () => {
  let double: GitHubDouble;
  let repo: DoubleRepository;
  let gh: GitHub;
  let c1: string;
  let c2: string;
  const small = '{"connectors": []}\n';
  const big = JSON.stringify({ connectors: [], pad: 'y'.repeat(5000) });

  beforeAll(async () => {
    double = await GitHubDouble.start({ tokens: [TOKEN], largeFileThreshold: 1024 });
    repo = double.createRepo('Acme/Registry');
    c1 = repo.commit('main', { 'connectors_registry.json': small, 'nested/dir/registry.json': small });
    c2 = repo.commit('main', { 'connectors_registry.json': big });
    gh = createGitHub(testConfig({ GITHUB_API_URL: double.url, GITHUB_TOKEN: TOKEN }), log);
  });
  afterAll(async () => double.close());

  it('reads the branch head and revalidates it with the ETag (304 → notModified)', async () => {
    const head = await gh.repositories.branchHead('Acme/Registry', 'main');
    expect(head).toMatchObject({ sha: c2 });
    const etag = (head as { etag: string }).etag;
    expect(await gh.repositories.branchHead('Acme/Registry', 'main', etag)).toEqual({ notModified: true });
    repo.commit('main', { 'other.txt': 'x' });
    expect(await gh.repositories.branchHead('Acme/Registry', 'main', etag)).toMatchObject({ sha: repo.head('main') });
    expect(double.requests.filter((r) => r.path.includes('/git/ref/')).every((r) => r.headers.authorization === `token ${TOKEN}`)).toBe(true);
  });

  it('reads a file at a commit with its blob SHA, large files through the blobs API', async () => {
    expect(await gh.repositories.file('Acme/Registry', 'connectors_registry.json', c1)).toEqual({ blobSha: blobSha(small), bytes: Buffer.from(small) });
    expect(await gh.repositories.file('Acme/Registry', 'nested/dir/registry.json', c1)).toEqual({ blobSha: blobSha(small), bytes: Buffer.from(small) });
    const blobsBefore = double.count({ path: /\/git\/blobs\// });
    expect(await gh.repositories.file('Acme/Registry', 'connectors_registry.json', c2)).toEqual({ blobSha: blobSha(big), bytes: Buffer.from(big) });
    expect(double.count({ path: /\/git\/blobs\// })).toBe(blobsBefore + 1);
    expect(await gh.repositories.file('Acme/Registry', 'missing.json', c2)).toBeUndefined();
    const dir = await failure(gh.repositories.file('Acme/Registry', 'nested', c1));
    expect(dir.kind).toBe('permanent');
    expect(dir.message).toContain('is a directory');
  });

  it('compares commits', async () => {
    expect(await gh.repositories.compare('Acme/Registry', c1, c2)).toBe('ahead');
    expect(await gh.repositories.compare('Acme/Registry', c2, c1)).toBe('behind');
    expect(await gh.repositories.compare('Acme/Registry', c2, c2)).toBe('identical');
  });

  it('classifies failures: 5xx and dropped connections retryable, rate limits with their wait, 404 not-found, 401 permanent', async () => {
    double.inject({ path: /\/git\/ref\//, fault: { kind: 'status', status: 503 } });
    expect((await failure(gh.repositories.branchHead('Acme/Registry', 'main'))).kind).toBe('retryable');

    double.inject({ path: /\/git\/ref\//, fault: { kind: 'network' } });
    const net = await failure(gh.repositories.branchHead('Acme/Registry', 'main'));
    expect(net.kind).toBe('retryable');
    expect(net.message).not.toContain(TOKEN);

    double.inject({ path: /\/git\/ref\//, fault: { kind: 'rate-limit', type: 'primary', resetInS: 120 } });
    const primary = await failure(gh.repositories.branchHead('Acme/Registry', 'main'));
    expect(primary.kind).toBe('rate-limited');
    expect(primary.retryAt! - Date.now()).toBeGreaterThan(110_000);

    double.inject({ path: /\/contents\//, fault: { kind: 'rate-limit', type: 'secondary', status: 429, retryAfterS: 5 } });
    const secondary = await failure(gh.repositories.file('Acme/Registry', 'connectors_registry.json', c1));
    expect(secondary.kind).toBe('rate-limited');
    expect(secondary.retryAt! - Date.now()).toBeGreaterThan(4000);
    expect(secondary.retryAt! - Date.now()).toBeLessThanOrEqual(5000);

    expect((await failure(gh.repositories.branchHead('Acme/Registry', 'nope'))).kind).toBe('not-found');
    expect((await failure(gh.repositories.branchHead('Acme/Missing', 'main'))).kind).toBe('not-found');

    const wrong = createGitHub(testConfig({ GITHUB_API_URL: double.url, GITHUB_TOKEN: 'ghp_wrong' }), log);
    const bad = await failure(wrong.repositories.branchHead('Acme/Registry', 'main'));
    expect(bad.kind).toBe('permanent');
    expect(bad.status).toBe(401);
    expect(bad.message).not.toContain('ghp_wrong');
  });

  it('a successful answer that spends the budget holds calls until the reset plus a second of slack, like a rate-limited 403', async () => {
    const spent: number[] = [];
    const spender = createGitHub(testConfig({ GITHUB_API_URL: double.url, GITHUB_TOKEN: TOKEN }), log, { onRateLimitExhausted: (ms) => spent.push(ms) });
    double.limitRate({ remaining: 1, resetInS: 30 });
    try {
      await spender.repositories.branchHead('Acme/Registry', 'main');
      const answer = double.requests.at(-1)!;
      expect(answer.responseHeaders?.['x-ratelimit-remaining']).toBe('0');
      const resetS = Number(answer.responseHeaders?.['x-ratelimit-reset']);
      // The same instant a 403 at that reset would give: never right at the reset second.
      expect(spent).toEqual([resetS * 1000 + 1000]);
      const before = double.requests.length;
      const held = await failure(spender.repositories.branchHead('Acme/Registry', 'main'));
      expect(held).toMatchObject({ kind: 'rate-limited' });
      expect(held.retryAt).toBe(resetS * 1000 + 1000);
      expect(double.requests.length).toBe(before);
    } finally {
      double.limitRate({ remaining: 5000, resetInS: 3600 });
    }
  });

  it('posts commit statuses; a forbidden one is reported, not thrown; descriptions are cut to 140', async () => {
    expect(await gh.statuses.post('Acme/Registry', c2, 'failure', `x${'y'.repeat(300)}`)).toEqual({ result: 'posted' });
    const last = repo.statuses.at(-1)!;
    expect(last).toMatchObject({ sha: c2, state: 'failure', context: 'gatehouse/connectors' });
    expect(last.description!.length).toBe(140);
    repo.statusPermission = 403;
    expect(await gh.statuses.post('Acme/Registry', c2, 'success', 'ok')).toMatchObject({ result: 'not_permitted' });
    repo.statusPermission = 404;
    expect(await gh.statuses.post('Acme/Registry', c2, 'success', 'ok')).toMatchObject({ result: 'not_permitted' });
    repo.statusPermission = 201;
    double.inject({ path: /\/statuses\//, fault: { kind: 'rate-limit', type: 'primary', status: 403, resetInS: 60 } });
    expect((await failure(gh.statuses.post('Acme/Registry', c2, 'success', 'ok'))).kind).toBe('rate-limited');
    double.inject({ path: /\/statuses\//, fault: { kind: 'status', status: 500 } });
    expect((await failure(gh.statuses.post('Acme/Registry', c2, 'success', 'ok'))).kind).toBe('retryable');
  });
});

describe('GitHub client (GitHub App)', () => {
  let double: GitHubDouble;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

  beforeAll(async () => {
    double = await GitHubDouble.start({ app: { appId: 999, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
    double.createRepo('org/installed', { installationId: 31 }).commit('main', { 'connectors_registry.json': '{}' });
    double.createRepo('org/not-installed').commit('main', { 'connectors_registry.json': '{}' });
  });
  afterAll(async () => double.close());

  it('finds the installation of the repository, reads with an installation token, caches both', async () => {
    const gh = createGitHub(testConfig({
      GITHUB_API_URL: double.url,
      GITHUB_APP_ID: '999',
      GITHUB_APP_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    }), log);
    expect(gh.mode).toBe('app');
    const head = await gh.repositories.branchHead('org/installed', 'main');
    expect(head).toMatchObject({ sha: double.repo('org/installed').head('main') });
    await gh.repositories.branchHead('org/installed', 'main');
    expect(double.count({ path: /\/installation$/ })).toBe(1);
    expect(double.count({ path: /\/access_tokens$/ })).toBe(1);
    expect(double.requests.filter((r) => r.path.includes('/git/ref/')).map((r) => r.auth)).toEqual(['installation', 'installation']);

    const missing = await failure(gh.repositories.branchHead('org/not-installed', 'main'));
    expect(missing.kind).toBe('permanent');
    expect(missing.message).toContain('not installed on org/not-installed');
  });
});
