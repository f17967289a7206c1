import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCidrList } from '../../src/config.js';
import { GitRemotes, GitSourceError } from '../../src/git/index.js';
import { createUpstreamDispatcher } from '../../src/upstream/dispatcher.js';
import { createAddressGuard } from '../../src/upstream/guard.js';
import { testCerts } from '../support/certs.js';
import { startGitServer, type GitTestServer, type TestRepo } from '../support/git-server.js';

const LOOPBACK = parseCidrList('127.0.0.0/8', []);

function remotes(options: { allow?: boolean; ca?: string; maxFileBytes?: number; historyFirstDepth?: number } = {}) {
  const dispatcher = createUpstreamDispatcher({ guard: createAddressGuard(options.allow === false ? [] : LOOPBACK), extraCa: options.ca, timeoutMs: 5000 });
  return new GitRemotes({
    dispatcher,
    allowHttp: true,
    timeoutMs: 5000,
    ...(options.maxFileBytes !== undefined ? { maxFileBytes: options.maxFileBytes } : {}),
    ...(options.historyFirstDepth !== undefined ? { historyFirstDepth: options.historyFirstDepth } : {}),
  });
}

async function failure(p: Promise<unknown>): Promise<GitSourceError> {
  const err = await p.then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(GitSourceError);
  return err as GitSourceError;
}

describe('Git source over smart HTTP (git http-backend on 127.0.0.1)', () => {
  let server: GitTestServer;
  let repo: TestRepo;
  let secret: TestRepo;
  let first: string;

  beforeAll(async () => {
    server = await startGitServer();
    repo = server.createRepo('group/connectors');
    first = repo.commit({ 'connectors/connectors_registry.json': '{"connectors": []}\n', 'README.md': 'hello' });
    secret = server.createRepo('private/registry', { auth: { username: 'bot', password: 's3cret-token' } });
    secret.commit({ 'connectors_registry.json': '{"connectors": []}' });
  });
  afterAll(async () => {
    await server.close();
  });

  it('resolves the branch head and reads one file at that commit', async () => {
    const r = remotes();
    expect(await r.head({ url: repo.url, branch: 'main' })).toBe(first);
    const { commit, file } = await r.file({ url: repo.url, branch: 'main' }, 'connectors/connectors_registry.json');
    expect(commit).toBe(first);
    expect(file?.bytes.toString('utf8')).toBe('{"connectors": []}\n');
    expect(file?.blobSha).toMatch(/^[0-9a-f]{40}$/);
    const missing = await r.file({ url: repo.url, branch: 'main' }, 'nope.json');
    expect(missing).toEqual({ commit: first, file: undefined });
  });

  it('follows a new commit and a force-push back', async () => {
    const r = remotes();
    const second = repo.commit({ 'connectors/connectors_registry.json': '{"connectors": [ ]}\n' });
    expect(await r.head({ url: repo.url, branch: 'main' })).toBe(second);
    repo.forcePush('main', first);
    const { commit, file } = await r.file({ url: repo.url, branch: 'main' }, 'connectors/connectors_registry.json');
    expect(commit).toBe(first);
    expect(file?.bytes.toString('utf8')).toBe('{"connectors": []}\n');
  });

  it('reads an earlier commit of the branch from its history (the newest commits first, all of it when older), and how two commits relate', async () => {
    const history = server.createRepo('group/history');
    const target = { url: history.url, branch: 'main' };
    const oldest = history.commit({ 'connectors_registry.json': '{"connectors": [1]}' });
    const middle = history.commit({ 'connectors_registry.json': '{"connectors": [2]}', 'other.json': '{}' });
    const newest = history.commit({ 'connectors_registry.json': null, 'other.json': '{"x": 1}' });
    const before = server.requests.filter((q) => q.path.startsWith('/group/history.git/git-upload-pack')).length;
    // One commit first: the oldest is found in the second, complete round.
    const shallowFirst = remotes({ historyFirstDepth: 1 });
    expect((await shallowFirst.fileAt(target, 'connectors_registry.json', oldest))?.bytes.toString('utf8')).toBe('{"connectors": [1]}');
    expect(server.requests.filter((q) => q.path.startsWith('/group/history.git/git-upload-pack')).length - before).toBe(2);
    const r = remotes();
    expect((await r.fileAt(target, 'connectors_registry.json', middle))?.bytes.toString('utf8')).toBe('{"connectors": [2]}');
    expect(await r.fileAt(target, 'connectors_registry.json', newest)).toBeUndefined();
    expect(await shallowFirst.relation(target, oldest, newest)).toBe('ahead');
    expect(await r.relation(target, newest, oldest)).toBe('behind');
    expect(await r.relation(target, middle, middle)).toBe('identical');
    // Rewritten away: the branch goes back to `middle` and on from there.
    history.forcePush('main', middle);
    const sibling = history.commit({ 'connectors_registry.json': '{"connectors": [3]}' });
    expect(await r.relation(target, newest, newest)).toBe('unknown');
    expect(await shallowFirst.relation(target, newest, sibling)).toBe('unknown');
    expect(await r.fileAt(target, 'connectors_registry.json', newest)).toBeUndefined();
    expect(await r.relation(target, oldest, sibling)).toBe('ahead');
  });

  it('reads a private repository with basic credentials and names each credential problem', async () => {
    const r = remotes();
    const target = { url: secret.url, branch: 'main' };
    expect(await r.head({ ...target, credentials: { username: 'bot', password: 's3cret-token' } })).toBe(secret.head());
    const required = await failure(r.head(target));
    expect(required.kind).toBe('auth-required');
    expect(required.message).toContain('requires credentials');
    const wrong = await failure(r.file({ ...target, credentials: { username: 'bot', password: 'not-the-token-42' } }, 'connectors_registry.json'));
    expect(wrong.kind).toBe('auth-failed');
    expect(wrong.message).toContain('refused the credentials of user "bot"');
    expect(wrong.message).not.toContain('not-the-token-42');
  });

  it('a repository that does not exist, a vanished branch, and an oversized file each say so', async () => {
    const r = remotes({ maxFileBytes: 1024 });
    expect((await failure(r.head({ url: `${server.origin}/nobody/nothing.git`, branch: 'main' }))).kind).toBe('not-found');
    expect((await failure(r.head({ url: repo.url, branch: 'gone' }))).kind).toBe('branch-missing');
    expect((await failure(r.file({ url: repo.url, branch: 'gone' }, 'x.json'))).kind).toBe('branch-missing');
    const big = server.createRepo('group/big');
    big.commit({ 'connectors_registry.json': `{"connectors": [], "pad": "${'x'.repeat(2000)}"}` });
    const tooLarge = await failure(r.file({ url: big.url, branch: 'main' }, 'connectors_registry.json'));
    expect(tooLarge.kind).toBe('file-too-large');
    expect(tooLarge.message).toContain('connectors_registry.json');
  });

  it('loopback is refused unless UPSTREAM_ALLOW_CIDRS allows it; a closed port is unreachable', async () => {
    const blocked = await failure(remotes({ allow: false }).head({ url: repo.url, branch: 'main' }));
    expect(blocked.kind).toBe('blocked');
    expect(blocked.message).toContain('UPSTREAM_ALLOW_CIDRS');
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const down = await failure(remotes().head({ url: `http://127.0.0.1:${port}/g/r.git`, branch: 'main' }));
    expect(down.kind).toBe('unreachable');
    expect(down.retryable).toBe(true);
  });

  it('a certificate from an untrusted CA is a TLS failure; with UPSTREAM_CA_FILE it is read', async () => {
    const certs = await testCerts();
    const tls = await startGitServer({ tls: { cert: certs.cert, key: certs.key } });
    try {
      const r2 = tls.createRepo('tls/repo');
      const sha = r2.commit({ 'connectors_registry.json': '{"connectors": []}' });
      const err = await failure(remotes().head({ url: r2.url, branch: 'main' }));
      expect(err.kind).toBe('tls');
      expect(err.message).toContain('UPSTREAM_CA_FILE');
      expect(await remotes({ ca: certs.ca }).head({ url: r2.url, branch: 'main' })).toBe(sha);
    } finally {
      await tls.close();
    }
  });
});
