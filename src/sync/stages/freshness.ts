import { GitHubError, type GitHub } from '../../github/index.js';
import type { StoredLink } from '../links.js';

export type Freshness = { verdict: 'apply' } | { verdict: 'unchanged' } | { verdict: 'superseded'; reason: string };

/**
 * Stage 4 (docs/design.md#latest-wins): a file whose blob equals the applied one is `unchanged` and touches
 * nothing; a job for a commit older than the applied one (a replayed or late delivery) is
 * `superseded`. Operator-requested runs (`force`: manual resync, link) always apply.
 */
export async function freshness(github: GitHub, link: StoredLink, head: string, blob: string | null, pushedSha: string | null, force: boolean): Promise<Freshness> {
  const applied = link.applied;
  if (force || applied === null) return { verdict: 'apply' };
  if (applied.blob === blob) return { verdict: 'unchanged' };
  if (pushedSha !== null && pushedSha !== head && pushedSha !== applied.commit) {
    let relation;
    try {
      relation = await github.repositories.compare(link.repository, applied.commit, pushedSha);
    } catch (err) {
      // One of the commits was rewritten away: no ancestry to respect, the head decides.
      if (err instanceof GitHubError && err.kind === 'not-found') return { verdict: 'apply' };
      throw err;
    }
    if (relation === 'behind') {
      return { verdict: 'superseded', reason: `commit ${pushedSha.slice(0, 12)} is older than the applied ${applied.commit.slice(0, 12)}` };
    }
  }
  return { verdict: 'apply' };
}
