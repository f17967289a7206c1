import { GitHubError, type GitHub } from '../../github/index.js';
import type { StoredLink } from '../links.js';
import type { CommitRelation, RegistryBlob, RegistrySource, SourceProvider } from '../source.js';
import { SyncFailure, plainError } from '../stages/failure.js';

/**
 * A link to a GitHub repository: the branch head from the refs API, the file from the contents
 * API (the blobs API above 1 MiB), ancestry from the compare API. Rate limits, 5xx and network
 * trouble surface as GitHubError, which the processor waits out or retries.
 */
export class GitHubSource implements RegistrySource {
  readonly id: string;

  constructor(
    private readonly github: GitHub,
    readonly repository: string,
    readonly branch: string,
    readonly path: string,
  ) {
    this.id = `github:${repository.toLowerCase()}:${path}`;
  }

  async resolveHead(): Promise<string> {
    try {
      const head = await this.github.repositories.branchHead(this.repository, this.branch);
      if ('notModified' in head) throw new Error('unconditional branch head request answered 304');
      return head.sha;
    } catch (err) {
      if (err instanceof GitHubError && (err.kind === 'not-found' || err.kind === 'permanent')) {
        const message = err.kind === 'not-found'
          ? `branch "${this.branch}" of ${this.repository} was not found, or the repository is not readable with the configured GitHub credentials`
          : err.message;
        throw new SyncFailure('error', [plainError(message)], null);
      }
      throw err;
    }
  }

  async readFile(commit: string): Promise<RegistryBlob | undefined> {
    try {
      return await this.github.repositories.file(this.repository, this.path, commit);
    } catch (err) {
      if (err instanceof GitHubError && err.kind === 'permanent') throw new SyncFailure('error', [plainError(err.message)], commit);
      throw err;
    }
  }

  async compare(base: string, head: string): Promise<CommitRelation> {
    try {
      return await this.github.repositories.compare(this.repository, base, head);
    } catch (err) {
      // GitHub no longer knows one of the commits (force-pushed away): there is no ancestry to respect.
      if (err instanceof GitHubError && err.kind === 'not-found') return 'unknown';
      throw err;
    }
  }
}

export function githubSources(github: GitHub): SourceProvider {
  return { forLink: (link: StoredLink) => new GitHubSource(github, link.repository, link.branch, link.path) };
}
