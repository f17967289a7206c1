import { GitHubError, type GitHub } from '../../github/index.js';
import type { StoredLink } from '../links.js';
import { SyncRetry } from './failure.js';

/**
 * Stage 2: GitHub's API can lag behind the webhook that announced a push. When the pushed commit
 * is newer than the head the API shows, the head is stale: wait and retry rather than apply an
 * older commit. After `staleAttempts` attempts the branch really points there (it was
 * force-pushed back), and the head wins.
 */
export async function checkHead(github: GitHub, link: StoredLink, head: string, pushedSha: string | null, attempt: number, staleAttempts: number): Promise<void> {
  if (pushedSha === null || pushedSha === head || attempt > staleAttempts) return;
  let relation;
  try {
    relation = await github.repositories.compare(link.repository, pushedSha, head);
  } catch (err) {
    // GitHub no longer knows the pushed commit (force-pushed away): the head is all there is.
    if (err instanceof GitHubError && err.kind === 'not-found') return;
    throw err;
  }
  if (relation === 'behind') {
    throw new SyncRetry(`GitHub still shows ${head.slice(0, 12)} as the head of ${link.branch}, older than the pushed ${pushedSha.slice(0, 12)}`);
  }
}
