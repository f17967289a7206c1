import type { Dispatcher } from 'undici';
import type { CommitState, StatusOutcome } from '../github/index.js';
import { STATUS_CONTEXT, statusDescription } from '../github/index.js';
import { GitSourceError } from './errors.js';
import { networkError } from './http.js';

/**
 * Commit statuses on GitLab and Gitea/Forgejo, through their REST APIs (context
 * `gatehouse/connectors`, as on GitHub):
 *  - GitLab: `POST /api/v4/projects/:id/statuses/:sha` (`PRIVATE-TOKEN`; id = the URL-encoded
 *    project path), states `success` / `failed`;
 *  - Gitea/Forgejo: `POST /api/v1/repos/{owner}/{repo}/statuses/{sha}` (`Authorization: token …`),
 *    states `success` / `failure` / `error`.
 * A 401/403/404 means the token may not write statuses: `not_permitted`, never retried. Requests
 * go through the guarded dispatcher, like every Git request.
 */

export type StatusProvider = 'gitlab' | 'gitea';

export interface GitStatusRequest {
  provider: StatusProvider;
  /** The link's clone URL (the API lives on the same origin). */
  url: string;
  sha: string;
  state: Exclude<CommitState, 'pending'>;
  description: string;
  token: string;
  targetUrl?: string;
}

export class GitStatuses {
  constructor(private readonly options: { dispatcher: Dispatcher; timeoutMs: number }) {}

  async post(req: GitStatusRequest): Promise<StatusOutcome> {
    const clone = new URL(req.url);
    const project = clone.pathname.replace(/^\/+/, '').replace(/\/+$/, '').replace(/\.git$/, '');
    const description = statusDescription(req.description);
    let path: string;
    let headers: Record<string, string>;
    let body: Record<string, string>;
    if (req.provider === 'gitlab') {
      path = `/api/v4/projects/${encodeURIComponent(project)}/statuses/${req.sha}`;
      headers = { 'private-token': req.token };
      body = { state: req.state === 'success' ? 'success' : 'failed', name: STATUS_CONTEXT, description };
    } else {
      const [owner, repo] = project.split('/');
      path = `/api/v1/repos/${encodeURIComponent(owner ?? '')}/${encodeURIComponent(repo ?? '')}/statuses/${req.sha}`;
      headers = { authorization: `token ${req.token}` };
      body = { state: req.state, context: STATUS_CONTEXT, description };
    }
    if (req.targetUrl !== undefined) body.target_url = req.targetUrl;
    const what = `POST ${clone.origin}${path.replace(req.sha, req.sha.slice(0, 12))}`;
    const signal = AbortSignal.timeout(this.options.timeoutMs);
    let res: Dispatcher.ResponseData;
    try {
      res = await this.options.dispatcher.request({
        origin: clone.origin,
        path,
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json', 'user-agent': 'gatehouse' },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      throw networkError(err, what, signal.aborted, this.options.timeoutMs);
    }
    const text = (await res.body.text()).slice(0, 300);
    if (res.statusCode >= 200 && res.statusCode < 300) return { result: 'posted' };
    const message = `${what}: ${res.statusCode} ${messageOf(text)}`.trim();
    if (res.statusCode === 401 || res.statusCode === 403 || res.statusCode === 404) return { result: 'not_permitted', message };
    if (res.statusCode >= 500 || res.statusCode === 429 || res.statusCode === 408) throw new GitSourceError('unreachable', message);
    return { result: 'not_permitted', message };
  }
}

function messageOf(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: unknown };
    if (typeof parsed.message === 'string') return `(${parsed.message})`;
  } catch {
    // not JSON: fall through
  }
  return '';
}
