import { AppError } from '../../errors.js';
import { GitSourceError, type GitTarget } from '../../git/index.js';
import type { GitSources } from '../git-service.js';
import type { StoredGitLink } from '../git-links.js';
import type { CommitRelation, RegistryBlob, RegistrySource } from '../source.js';
import { SyncFailure, plainError } from '../stages/failure.js';

/**
 * A link to any Git repository over smart HTTP, as a source of earlier commits (rollback, a
 * pinned link): the branch head from the ref advertisement, the file at a commit and the ancestry
 * of two commits from the branch's history (src/git/remote.ts). A branch head and its file are
 * read by the read-git stage in one shallow fetch instead. A host that cannot be reached now is
 * a retryable GitSourceError; every other problem is a SyncFailure with its own message.
 */
export class GitSource implements RegistrySource {
  /** Per tenant link: the credentials are the tenant's, so nothing read with them is shared with another tenant. */
  readonly id: string;

  constructor(
    private readonly git: GitSources,
    private readonly link: StoredGitLink,
  ) {
    this.id = `git:${link.tenant}:${link.name}:${link.path}`;
  }

  resolveHead(): Promise<string> {
    return this.read(null, async (target) => this.git.remotes.head(target));
  }

  readFile(commit: string): Promise<RegistryBlob | undefined> {
    return this.read(commit, (target) => this.git.remotes.fileAt(target, this.link.path, commit));
  }

  compare(base: string, head: string): Promise<CommitRelation> {
    return this.read(head, (target) => this.git.remotes.relation(target, base, head));
  }

  private async read<T>(commit: string | null, run: (target: GitTarget) => Promise<T>): Promise<T> {
    let target: GitTarget;
    try {
      target = await this.git.target(this.link);
    } catch (err) {
      // The named secret is gone: nothing to retry until an operator recreates it.
      if (err instanceof AppError && err.status === 422) throw new SyncFailure('error', [plainError(err.message)], commit);
      throw err;
    }
    try {
      return await run(target);
    } catch (err) {
      if (!(err instanceof GitSourceError) || err.retryable) throw err;
      throw new SyncFailure(err.kind === 'file-too-large' ? 'failure' : 'error', [plainError(err.message)], commit);
    }
  }
}
