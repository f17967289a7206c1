import type { RegistrySource } from '../source.js';
import type { StoredLink } from '../links.js';
import { SyncRetry } from './failure.js';

/**
 * Stage 2: a host's API can lag behind the webhook that announced a push. When the pushed commit
 * is newer than the head the API shows, the head is stale: wait and retry rather than apply an
 * older commit. After `staleAttempts` attempts the branch really points there (it was
 * force-pushed back), and the head wins. A pushed commit the source no longer knows (force-pushed
 * away) leaves the head as all there is.
 */
export async function checkHead(source: RegistrySource, link: StoredLink, head: string, pushedSha: string | null, attempt: number, staleAttempts: number): Promise<void> {
  if (pushedSha === null || pushedSha === head || attempt > staleAttempts) return;
  const relation = await source.compare(pushedSha, head);
  if (relation === 'behind') {
    throw new SyncRetry(`${link.repository} still shows ${head.slice(0, 12)} as the head of ${link.branch}, older than the pushed ${pushedSha.slice(0, 12)}`);
  }
}
