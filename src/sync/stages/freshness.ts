import type { RegistrySource } from '../source.js';
import type { StoredLink } from '../links.js';

export type Freshness = { verdict: 'apply' } | { verdict: 'unchanged' } | { verdict: 'superseded'; reason: string };

/**
 * Stage 4 (docs/design.md#latest-wins): a file whose blob equals the applied one is `unchanged` and touches
 * nothing; a job for a commit older than the applied one (a replayed or late delivery) is
 * `superseded`. Operator-requested runs (`force`: manual resync, link) always apply. When one of
 * the commits was rewritten away there is no ancestry to respect: the head decides.
 */
export async function freshness(source: RegistrySource, link: StoredLink, head: string, blob: string | null, pushedSha: string | null, force: boolean): Promise<Freshness> {
  const applied = link.applied;
  if (force || applied === null) return { verdict: 'apply' };
  if (applied.blob === blob) return { verdict: 'unchanged' };
  if (pushedSha !== null && pushedSha !== head && pushedSha !== applied.commit) {
    const relation = await source.compare(applied.commit, pushedSha);
    if (relation === 'behind') {
      return { verdict: 'superseded', reason: `commit ${pushedSha.slice(0, 12)} is older than the applied ${applied.commit.slice(0, 12)}` };
    }
  }
  return { verdict: 'apply' };
}
