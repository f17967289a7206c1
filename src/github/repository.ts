import { GitHubError, classifyGitHubError } from './errors.js';
import { splitRepository, type OctokitProvider } from './client.js';

/**
 * Reading a linked repository: the branch head, the registry file at a commit (with its git blob
 * SHA, so an unchanged file is recognised without parsing it) and the ancestry of two commits.
 */

export type BranchHead = { sha: string; etag: string | undefined } | { notModified: true };

export interface RegistryBlob {
  /** Git blob SHA of the file at that commit. */
  blobSha: string;
  /**
   * The file's bytes, undecoded: the validator decodes them strictly as UTF-8 (as
   * `gatehouse validate` does), so a file in another encoding is reported, not mangled.
   */
  bytes: Buffer;
}

export type CommitRelation = 'ahead' | 'behind' | 'identical' | 'diverged';

export class GitHubRepositories {
  constructor(private readonly provider: OctokitProvider) {}

  /**
   * The commit `branch` points at. With the ETag of an earlier answer GitHub may answer 304 (no
   * rate-limit cost): `{ notModified: true }`. A missing branch or repository is `not-found`.
   */
  async branchHead(repository: string, branch: string, etag?: string): Promise<BranchHead> {
    const { owner, repo } = splitRepository(repository);
    const octokit = await this.provider.forRepository(repository);
    try {
      const res = await octokit.rest.git.getRef({
        owner,
        repo,
        ref: `heads/${branch}`,
        ...(etag !== undefined ? { headers: { 'if-none-match': etag } } : {}),
      });
      if (res.data.object.type !== 'commit') {
        throw new GitHubError('permanent', `refs/heads/${branch} of ${repository} points at a ${res.data.object.type}, not a commit`, res.status);
      }
      return { sha: res.data.object.sha, etag: res.headers.etag };
    } catch (err) {
      if ((err as { status?: unknown }).status === 304) return { notModified: true };
      throw this.fail(err, repository, `GET /repos/${repository}/git/ref/heads/${branch}`);
    }
  }

  /**
   * Why `branch` of `repository` cannot be linked, when GitHub says so for good: the repository
   * does not exist or the credentials cannot read it, the branch does not exist, the credentials
   * are refused. Undefined when the branch head can be read. Trouble a retry may cure (5xx,
   * network, rate limit) is thrown: the caller decides whether to wait for it.
   */
  async linkProblem(repository: string, branch: string, path: string): Promise<string | undefined> {
    try {
      await this.branchHead(repository, branch);
      return undefined;
    } catch (err) {
      if (!(err instanceof GitHubError) || (err.kind !== 'not-found' && err.kind !== 'permanent')) throw err;
      if (err.kind === 'permanent') return `GitHub refused to show branch "${branch}" of ${repository}: ${err.message}`;
    }
    // The ref is missing. GitHub answers a plain 404 for a repository it does not have or hides
    // from these credentials; its contents API names a missing ref, which tells the two apart.
    const { owner, repo } = splitRepository(repository);
    try {
      const octokit = await this.provider.forRepository(repository);
      await octokit.rest.repos.getContent({ owner, repo, path, ref: branch });
      return undefined; // the branch appeared meanwhile (a push raced the link)
    } catch (err) {
      const e = this.fail(err, repository, `GET /repos/${repository}/contents/${path}?ref=${branch}`);
      if (e.kind === 'not-found' && /no commit found for the ref/i.test(e.message)) {
        return `${repository} has no branch "${branch}": push it first, or link an existing branch`;
      }
      if (e.kind === 'not-found') {
        return `GitHub has no repository ${repository}, or the configured GitHub credentials cannot read it (GitHub answers 404 for a private repository they cannot see): check the name, and give the token or GitHub App access to it`;
      }
      if (e.kind === 'permanent') return `GitHub refused to show ${repository}: ${e.message}`;
      throw e;
    }
  }

  /** The file at `path` in `commit`, or undefined when the commit has no such file. */
  async file(repository: string, path: string, commit: string): Promise<RegistryBlob | undefined> {
    const { owner, repo } = splitRepository(repository);
    const octokit = await this.provider.forRepository(repository);
    let data: unknown;
    try {
      data = (await octokit.rest.repos.getContent({ owner, repo, path, ref: commit })).data;
    } catch (err) {
      const e = this.fail(err, repository, `GET /repos/${repository}/contents/${path}`);
      if (e.kind === 'not-found') return undefined;
      throw e;
    }
    if (Array.isArray(data)) throw new GitHubError('permanent', `${path} in ${repository} is a directory, not a file`, 200);
    const entry = data as { type?: string; sha?: string; content?: string; encoding?: string; size?: number };
    if (entry.type !== 'file' || typeof entry.sha !== 'string') {
      throw new GitHubError('permanent', `${path} in ${repository} is a ${entry.type ?? 'non-file entry'}, not a file`, 200);
    }
    if (entry.encoding === 'base64' && typeof entry.content === 'string') {
      return { blobSha: entry.sha, bytes: Buffer.from(entry.content, 'base64') };
    }
    // Above 1 MiB the contents API omits the content; the blobs API serves up to 100 MiB.
    try {
      const blob = await octokit.rest.git.getBlob({ owner, repo, file_sha: entry.sha });
      // Octokit's JSON parser (json-with-bigint) gives up on bodies of many MB and hands back the
      // text: parse it here, or a 10 MB file would look like a network failure and be retried.
      const data = (typeof blob.data === 'string' ? JSON.parse(blob.data) : blob.data) as { content: string; encoding: string };
      const bytes = data.encoding === 'base64' ? Buffer.from(data.content, 'base64') : Buffer.from(data.content, 'utf8');
      return { blobSha: entry.sha, bytes };
    } catch (err) {
      throw this.fail(err, repository, `GET /repos/${repository}/git/blobs/${entry.sha}`);
    }
  }

  /** How `head` relates to `base`: `behind` means head is an ancestor of base (an older commit). */
  async compare(repository: string, base: string, head: string): Promise<CommitRelation> {
    const { owner, repo } = splitRepository(repository);
    const octokit = await this.provider.forRepository(repository);
    try {
      // One page of one commit: only `status` matters, not the commit list.
      const res = await octokit.rest.repos.compareCommitsWithBasehead({ owner, repo, basehead: `${base}...${head}`, per_page: 1 });
      return res.data.status;
    } catch (err) {
      throw this.fail(err, repository, `GET /repos/${repository}/compare`);
    }
  }

  private fail(err: unknown, repository: string, what: string): GitHubError {
    const e = classifyGitHubError(err, what);
    if (e.kind === 'not-found' || e.status === 401) this.provider.invalidate(repository);
    return e;
  }
}
