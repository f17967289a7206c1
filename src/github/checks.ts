import { classifyGitHubError, type GitHubError } from './errors.js';
import { splitRepository, type OctokitProvider } from './client.js';

/**
 * Check runs (Checks API): a conclusion, a Markdown summary and line annotations on a commit.
 * Only a GitHub App may write them (`checks: write`); a personal access token or a missing
 * permission answers 403/404, reported as `not_permitted` so the caller can fall back to a
 * commit status. GitHub takes at most 50 annotations per request: the first batch goes with the
 * creation, the rest with updates (each update appends its annotations).
 */

export const ANNOTATIONS_PER_REQUEST = 50;
/** GitHub's limit on `output.summary` and `output.text`. */
export const CHECK_TEXT_MAX = 65_535;

export interface CheckAnnotation {
  path: string;
  start_line: number;
  end_line: number;
  start_column?: number;
  end_column?: number;
  annotation_level: 'notice' | 'warning' | 'failure';
  message: string;
  title?: string;
}

export interface CheckRunInput {
  name: string;
  headSha: string;
  conclusion: 'success' | 'failure' | 'neutral';
  title: string;
  summary: string;
  annotations: CheckAnnotation[];
  detailsUrl?: string;
  externalId?: string;
}

export type CheckRunOutcome = { result: 'posted'; id: number } | { result: 'not_permitted'; message: string };

export function checkText(text: string): string {
  if (text.length <= CHECK_TEXT_MAX) return text;
  const cut = text.slice(0, CHECK_TEXT_MAX - 2);
  return `${/[\uD800-\uDBFF]$/.test(cut) ? cut.slice(0, -1) : cut}\n…`;
}

export class GitHubChecks {
  constructor(private readonly provider: OctokitProvider) {}

  /** Creates a completed check run with every annotation; throws GitHubError for what a retry can fix. */
  async create(repository: string, input: CheckRunInput): Promise<CheckRunOutcome> {
    const { owner, repo } = splitRepository(repository);
    const batches: CheckAnnotation[][] = [];
    for (let i = 0; i < input.annotations.length; i += ANNOTATIONS_PER_REQUEST) batches.push(input.annotations.slice(i, i + ANNOTATIONS_PER_REQUEST));
    const output = (annotations: CheckAnnotation[] | undefined) => ({
      title: input.title,
      summary: checkText(input.summary),
      ...(annotations !== undefined && annotations.length > 0 ? { annotations } : {}),
    });
    let e: GitHubError;
    let id: number;
    try {
      const octokit = await this.provider.forRepository(repository);
      const created = await octokit.rest.checks.create({
        owner,
        repo,
        name: input.name,
        head_sha: input.headSha,
        status: 'completed',
        conclusion: input.conclusion,
        completed_at: new Date().toISOString(),
        output: output(batches[0]),
        ...(input.detailsUrl !== undefined ? { details_url: input.detailsUrl } : {}),
        ...(input.externalId !== undefined ? { external_id: input.externalId } : {}),
      });
      id = created.data.id;
    } catch (err) {
      e = classifyGitHubError(err, `POST /repos/${repository}/check-runs`);
      if (e.kind !== 'rate-limited' && (e.kind === 'not-found' || e.status === 403 || e.status === 401)) return { result: 'not_permitted', message: e.message };
      throw e;
    }
    const octokit = await this.provider.forRepository(repository);
    for (const batch of batches.slice(1)) {
      try {
        await octokit.rest.checks.update({ owner, repo, check_run_id: id, output: output(batch) });
      } catch (err) {
        throw classifyGitHubError(err, `PATCH /repos/${repository}/check-runs/${id}`);
      }
    }
    return { result: 'posted', id };
  }
}
