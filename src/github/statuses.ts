import { classifyGitHubError, type GitHubError } from './errors.js';
import { splitRepository, type OctokitProvider } from './client.js';

/**
 * Commit statuses (docs/design.md#sync-history-and-commit-status): context `gatehouse/connectors`, state success / failure (the file
 * is invalid) / error (Gatehouse could not finish), a one-line description of at most 140
 * characters (GitHub rejects longer ones with 422).
 */

export const STATUS_CONTEXT = 'gatehouse/connectors';
export const STATUS_DESCRIPTION_MAX = 140;

export type CommitState = 'success' | 'failure' | 'error' | 'pending';

export type StatusOutcome =
  | { result: 'posted' }
  /** The credential may not write statuses (403/404/401): recorded, never retried. */
  | { result: 'not_permitted'; message: string };

export function statusDescription(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  if (oneLine.length <= STATUS_DESCRIPTION_MAX) return oneLine;
  // Never cut between the two halves of a surrogate pair (an emoji in a connector name): a lone
  // surrogate is not valid UTF-8, so GitHub would refuse the whole status.
  const cut = oneLine.slice(0, STATUS_DESCRIPTION_MAX - 1);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}…`;
}

export class GitHubStatuses {
  constructor(private readonly provider: OctokitProvider) {}

  /** Posts the status; throws GitHubError for what a retry can fix (5xx, network, rate limits). */
  async post(repository: string, sha: string, state: CommitState, description: string, targetUrl?: string): Promise<StatusOutcome> {
    const { owner, repo } = splitRepository(repository);
    let e: GitHubError;
    try {
      const octokit = await this.provider.forRepository(repository);
      await octokit.rest.repos.createCommitStatus({
        owner,
        repo,
        sha,
        state,
        context: STATUS_CONTEXT,
        description: statusDescription(description),
        ...(targetUrl !== undefined ? { target_url: targetUrl } : {}),
      });
      return { result: 'posted' };
    } catch (err) {
      e = classifyGitHubError(err, `POST /repos/${repository}/statuses/${sha}`);
    }
    if (e.kind !== 'rate-limited' && (e.kind === 'not-found' || e.status === 403 || e.status === 401)) {
      return { result: 'not_permitted', message: e.message };
    }
    throw e;
  }
}
