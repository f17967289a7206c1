import { GitHubError, type GitHub } from '../../github/index.js';
import type { StoredLink } from '../links.js';
import { SyncFailure, plainError } from './failure.js';

/** Stage 1: the commit the linked branch points at now (docs/design.md#latest-wins: the sync applies the head). */
export async function resolveHead(github: GitHub, link: StoredLink): Promise<string> {
  try {
    const head = await github.repositories.branchHead(link.repository, link.branch);
    if ('notModified' in head) throw new Error('unconditional branch head request answered 304');
    return head.sha;
  } catch (err) {
    if (err instanceof GitHubError && (err.kind === 'not-found' || err.kind === 'permanent')) {
      const message = err.kind === 'not-found'
        ? `branch "${link.branch}" of ${link.repository} was not found, or the repository is not readable with the configured GitHub credentials`
        : err.message;
      throw new SyncFailure('error', [plainError(message)], null);
    }
    throw err;
  }
}
