import * as nodeFs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
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
 * into a private temporary directory, removed afterwards).
 */

/** A registry file larger than this is refused before it is decoded or validated. */
export const GIT_FILE_MAX_BYTES = 5 * 1024 * 1024;
/** One shallow fetch (the whole tree of one commit, compressed) may not exceed this. */
export const GIT_PACK_MAX_BYTES = 100 * 1024 * 1024;

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
}

/**
 * isomorphic-git is loaded on the first Git call: most processes never read a Git remote, and the
 * module takes longer to load than the rest of start-up's own work.
 */
let isomorphicGit: Promise<typeof import('isomorphic-git').default> | undefined;
const loadGit = () => (isomorphicGit ??= import('isomorphic-git').then((m) => m.default));

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
    const git = await loadGit();
    const gitdir = await mkdtemp(join(tmpdir(), 'gatehouse-git-'));
    try {
      await git.init({ fs: nodeFs, gitdir, bare: true, defaultBranch: 'gatehouse' });
      // The remote's URL only (credentials travel in a request header, never on disk).
      await git.addRemote({ fs: nodeFs, gitdir, remote: 'origin', url: target.url });
      let commit: string | null;
      try {
        const result = await git.fetch({
          fs: nodeFs,
          http: this.http(`fetching ${target.branch} of ${where}`),
          gitdir,
          remote: 'origin',
          ref: target.branch,
          singleBranch: true,
          depth: 1,
          tags: false,
          ...this.auth(target),
        });
        commit = result.fetchHead;
      } catch (err) {
        throw classify(err, target, where);
      }
      if (commit === null) throw branchMissing(target, where);
      let blob;
      try {
        blob = await git.readBlob({ fs: nodeFs, gitdir, oid: commit, filepath: path });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code === 'NotFoundError') return { commit, file: undefined };
        if (code === 'ObjectTypeError') throw new GitSourceError('protocol', `${path} at commit ${commit.slice(0, 12)} of ${where} is a directory, not a file: set path to the registry file itself`);
        throw err;
      }
      const max = this.options.maxFileBytes ?? GIT_FILE_MAX_BYTES;
      if (blob.blob.length > max) {
        throw new GitSourceError('file-too-large', `${path} at commit ${commit.slice(0, 12)} is ${blob.blob.length} bytes, over the ${Math.round(max / 1024 / 1024)} MB limit for a registry file: split the connectors over several links (one file each)`);
      }
      return { commit, file: { blobSha: blob.oid, bytes: Buffer.from(blob.blob) } };
    } finally {
      await rm(gitdir, { recursive: true, force: true });
    }
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
