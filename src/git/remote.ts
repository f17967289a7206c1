import * as nodeFs from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Dispatcher } from 'undici';
import type { RegistryBlob } from '../github/index.js';
import { GitSourceError } from './errors.js';
import { createGitHttpClient } from './http.js';
import { withoutCredentials } from './url.js';

/**
 * Reading a Git remote over smart HTTP with isomorphic-git (no `git` binary): the commit a branch
 * points at (ref advertisement only), and one file at that commit (a shallow fetch of depth 1
 * into a private temporary directory, removed afterwards). An earlier commit is read from the
 * branch's history (fetched the same way, deeper): servers need not allow fetching a commit by
 * its SHA, and a commit no longer in the branch's history is one a force-push rewrote away.
 */

/** A registry file larger than this is refused before it is decoded or validated. */
export const GIT_FILE_MAX_BYTES = 5 * 1024 * 1024;
/** One shallow fetch (the whole tree of one commit, compressed) may not exceed this. */
export const GIT_PACK_MAX_BYTES = 100 * 1024 * 1024;
/**
 * Reading an earlier commit (a rollback) fetches the branch's history: its newest commits first,
 * which holds any recent commit, and all of it only when the commit is older than that.
 */
export const GIT_HISTORY_FIRST_DEPTH = 100;

/** How `head` relates to `base` on the branch; `unknown`: one of them is not in the branch's history (force-pushed away). */
export type GitCommitRelation = 'ahead' | 'behind' | 'identical' | 'diverged' | 'unknown';

export interface GitCredentials {
  username: string;
  password: string;
}

export interface GitTarget {
  url: string;
  branch: string;
  credentials?: GitCredentials;
}

export interface GitRemoteOptions {
  dispatcher: Dispatcher;
  allowHttp: boolean;
  timeoutMs: number;
  maxFileBytes?: number;
  maxPackBytes?: number;
  /** Commits fetched first to find an earlier commit (default GIT_HISTORY_FIRST_DEPTH). */
  historyFirstDepth?: number;
}

/**
 * isomorphic-git is loaded on the first Git call: most processes never read a Git remote, and the
 * module takes longer to load than the rest of start-up's own work.
 */
let isomorphicGit: Promise<typeof import('isomorphic-git').default> | undefined;
const loadGit = () => (isomorphicGit ??= import('isomorphic-git').then((m) => m.default));
type Git = Awaited<ReturnType<typeof loadGit>>;

export class GitRemotes {
  constructor(private readonly options: GitRemoteOptions) {}

  /** The commit `branch` points at now. */
  async head(target: GitTarget): Promise<string> {
    const where = withoutCredentials(target.url);
    const git = await loadGit();
    try {
      const refs = await git.listServerRefs({
        http: this.http(`reading the branches of ${where}`),
        url: target.url,
        prefix: `refs/heads/${target.branch}`,
        protocolVersion: 2,
        ...this.auth(target),
      });
      const ref = refs.find((r) => r.ref === `refs/heads/${target.branch}`);
      if (ref === undefined) throw branchMissing(target, where);
      return ref.oid;
    } catch (err) {
      throw classify(err, target, where);
    }
  }

  /**
   * The file at `path` on the branch's head, with the commit it was read at (the head may have
   * moved since `head()`: the commit returned is the one the file belongs to). Undefined file:
   * that commit has no such path.
   */
  async file(target: GitTarget, path: string): Promise<{ commit: string; file: RegistryBlob | undefined }> {
    const where = withoutCredentials(target.url);
    return this.withFetched(target, 1, `fetching ${target.branch} of ${where}`, async (git, gitdir, commit) => ({ commit, file: await this.readFile(git, gitdir, commit, path, where) }));
  }

  /**
   * The file at `path` at an earlier `commit` of the branch. Undefined file: that commit has no
   * such path, or the commit is not in the branch's history (`relation(commit, commit)` tells which).
   */
  async fileAt(target: GitTarget, path: string, commit: string): Promise<RegistryBlob | undefined> {
    return this.withHistory(target, [commit], async (git, gitdir, has) => {
      if (!(await has(commit))) return undefined;
      return this.readFile(git, gitdir, commit, path, withoutCredentials(target.url));
    });
  }

  /** How `head` relates to `base` in the branch's history. */
  async relation(target: GitTarget, base: string, head: string): Promise<GitCommitRelation> {
    return this.withHistory(target, [base, head], async (git, gitdir, has) => {
      if (!(await has(base)) || !(await has(head))) return 'unknown';
      if (base === head) return 'identical';
      if (await git.isDescendent({ fs: nodeFs, gitdir, oid: head, ancestor: base, depth: -1 })) return 'ahead';
      if (await git.isDescendent({ fs: nodeFs, gitdir, oid: base, ancestor: head, depth: -1 })) return 'behind';
      return 'diverged';
    });
  }

  /**
   * Fetches the branch's newest commits, and all of its history when they do not hold every commit
   * of `wanted`; `read` then looks at what was fetched.
   */
  private async withHistory<T>(target: GitTarget, wanted: string[], read: (git: Git, gitdir: string, has: (oid: string) => Promise<boolean>) => Promise<T>): Promise<T> {
    const describe = `fetching the history of ${target.branch} of ${withoutCredentials(target.url)}`;
    for (const depth of [this.options.historyFirstDepth ?? GIT_HISTORY_FIRST_DEPTH, undefined]) {
      const found = await this.withFetched(target, depth, describe, async (git, gitdir) => {
        const has = async (oid: string) => {
          try {
            await git.readCommit({ fs: nodeFs, gitdir, oid });
            return true;
          } catch (err) {
            if ((err as { code?: string }).code === 'NotFoundError') return false;
            throw err;
          }
        };
        // A history cut at `depth` has shallow commits; without any, every commit of the branch is here.
        const complete = depth === undefined || !(await hasShallowCommits(gitdir));
        return complete || (await everyPresent(wanted, has)) ? { value: await read(git, gitdir, has) } : undefined;
      });
      if (found !== undefined) return found.value;
    }
    throw new Error('unreachable: the last round fetches the whole history');
  }

  /**
   * Fetches the branch (its newest `depth` commits; undefined: all of them) into a private
   * temporary directory, runs `read` on it with the fetched head, and removes it.
   */
  private async withFetched<T>(target: GitTarget, depth: number | undefined, describe: string, read: (git: Git, gitdir: string, head: string) => Promise<T>): Promise<T> {
    const where = withoutCredentials(target.url);
    const git = await loadGit();
    const gitdir = await mkdtemp(join(tmpdir(), 'gatehouse-git-'));
    try {
      await git.init({ fs: nodeFs, gitdir, bare: true, defaultBranch: 'gatehouse' });
      // The remote's URL only (credentials travel in a request header, never on disk).
      await git.addRemote({ fs: nodeFs, gitdir, remote: 'origin', url: target.url });
      let head: string | null;
      try {
        const result = await git.fetch({
          fs: nodeFs,
          http: this.http(describe),
          gitdir,
          remote: 'origin',
          ref: target.branch,
          singleBranch: true,
          ...(depth !== undefined ? { depth } : {}),
          tags: false,
          ...this.auth(target),
        });
        head = result.fetchHead;
      } catch (err) {
        throw classify(err, target, where);
      }
      if (head === null) throw branchMissing(target, where);
      return await read(git, gitdir, head);
    } finally {
      await rm(gitdir, { recursive: true, force: true });
    }
  }

  private async readFile(git: Git, gitdir: string, commit: string, path: string, where: string): Promise<RegistryBlob | undefined> {
    let blob;
    try {
      blob = await git.readBlob({ fs: nodeFs, gitdir, oid: commit, filepath: path });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'NotFoundError') return undefined;
      if (code === 'ObjectTypeError') throw new GitSourceError('protocol', `${path} at commit ${commit.slice(0, 12)} of ${where} is a directory, not a file: set path to the registry file itself`);
      throw err;
    }
    const max = this.options.maxFileBytes ?? GIT_FILE_MAX_BYTES;
    if (blob.blob.length > max) {
      throw new GitSourceError('file-too-large', `${path} at commit ${commit.slice(0, 12)} is ${blob.blob.length} bytes, over the ${Math.round(max / 1024 / 1024)} MB limit for a registry file: split the connectors over several links (one file each)`);
    }
    return { blobSha: blob.oid, bytes: Buffer.from(blob.blob) };
  }

  private http(describe: string) {
    return createGitHttpClient({
      dispatcher: this.options.dispatcher,
      allowHttp: this.options.allowHttp,
      timeoutMs: this.options.timeoutMs,
      maxResponseBytes: this.options.maxPackBytes ?? GIT_PACK_MAX_BYTES,
    }, describe);
  }

  /** Credentials go in a header of each request (never in the URL, so never in a message). */
  private auth(target: GitTarget): { headers?: Record<string, string> } {
    if (target.credentials === undefined) return {};
    const token = Buffer.from(`${target.credentials.username}:${target.credentials.password}`, 'utf8').toString('base64');
    return { headers: { authorization: `Basic ${token}` } };
  }
}

async function hasShallowCommits(gitdir: string): Promise<boolean> {
  try {
    return (await readFile(join(gitdir, 'shallow'), 'utf8')).trim() !== '';
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return false;
    throw err;
  }
}

async function everyPresent(oids: string[], has: (oid: string) => Promise<boolean>): Promise<boolean> {
  for (const oid of oids) if (!(await has(oid))) return false;
  return true;
}

function branchMissing(target: GitTarget, where: string): GitSourceError {
  return new GitSourceError('branch-missing', `branch "${target.branch}" does not exist in ${where} (it was deleted or renamed): push it again, or point the link at another branch`);
}

function classify(err: unknown, target: GitTarget, where: string): GitSourceError {
  if (err instanceof GitSourceError) return err;
  const e = err as { code?: string; data?: { statusCode?: number }; message?: string; caller?: string };
  const status = e.data?.statusCode;
  if (e.code === 'HttpError' && status !== undefined) {
    if (status === 401 || status === 403) {
      if (target.credentials === undefined) {
        return new GitSourceError('auth-required', `${where} requires credentials (the server answered ${status}): store a token as a tenant secret and set token_secret (and username if the host needs one)`);
      }
      return new GitSourceError('auth-failed', `${where} refused the credentials of user "${target.credentials.username}" (the server answered ${status}): the token is wrong, expired, or lacks read access to the repository`);
    }
    if (status === 404) {
      return new GitSourceError('not-found', `${where} was not found (404): check the URL${target.credentials === undefined ? ', or set credentials if the repository is private' : ', and that the credentials can see the repository'}`);
    }
    if (status >= 500 || status === 408 || status === 429) return new GitSourceError('unreachable', `${where}: the Git host answered ${status}; it will be retried`);
    return new GitSourceError('protocol', `${where}: the Git host answered ${status}`);
  }
  if (e.code === 'SmartHttpError' || e.code === 'EmptyServerResponseError' || e.code === 'ParseError') {
    return new GitSourceError('protocol', `${where} does not speak Git's smart HTTP protocol (is this the repository's clone URL?)`);
  }
  if (e.code === 'RemoteCapabilityError') {
    return new GitSourceError('protocol', `${where} does not support shallow fetches, which Gatehouse needs to read one commit`);
  }
  if (e.code === 'NotFoundError' && e.message?.includes('HEAD') === true) {
    // isomorphic-git's fetch needs the remote's HEAD (its default branch) to exist.
    return new GitSourceError('protocol', `${where} advertises no HEAD (its default branch does not exist), so it cannot be fetched: restore or change the repository's default branch`);
  }
  if (e.code === 'NotFoundError') return branchMissing(target, where);
  return new GitSourceError('protocol', `${where}: ${e.message ?? String(err)}`.slice(0, 500));
}
