import { createHmac, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * GitLab and Gitea/Forgejo as far as Gatehouse talks to them, shaped like their documentation:
 *  - push webhook payloads and headers (GitLab "Push events": X-Gitlab-Event `Push Hook`,
 *    X-Gitlab-Token, X-Gitlab-Event-UUID; Gitea "Webhooks": X-Gitea-Event `push`,
 *    X-Gitea-Delivery, X-Gitea-Signature = hex HMAC-SHA256 of the body; Forgejo the same with
 *    X-Forgejo-*);
 *  - the commit status endpoints (GitLab `POST /api/v4/projects/:id/statuses/:sha` with
 *    PRIVATE-TOKEN, states pending|running|success|failed|canceled; Gitea
 *    `POST /api/v1/repos/{owner}/{repo}/statuses/{sha}` with `Authorization: token …`, states
 *    pending|success|error|failure|warning), answering 201 with the documented body or 401/400.
 * Mounted on the test Git server (`api` option), so the API is on the clone URL's origin.
 */

export interface PostedStatus {
  api: 'gitlab' | 'gitea';
  project: string;
  sha: string;
  body: Record<string, unknown>;
}

export function gitHostApis(tokens: { gitlab: string[]; gitea: string[] }) {
  const posted: PostedStatus[] = [];
  const handler = (req: IncomingMessage, res: ServerResponse, raw: Buffer): boolean => {
    const url = new URL(req.url ?? '/', 'http://x');
    const gitlab = /^\/api\/v4\/projects\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname);
    const gitea = /^\/api\/v1\/repos\/([^/]+)\/([^/]+)\/statuses\/([0-9a-f]{40})$/.exec(url.pathname);
    if (req.method !== 'POST' || (gitlab === null && gitea === null)) return false;
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>;
    } catch {
      json(400, { message: 'invalid JSON' });
      return true;
    }
    if (gitlab !== null) {
      if (!tokens.gitlab.includes(String(req.headers['private-token'] ?? ''))) return json(401, { message: '401 Unauthorized' }), true;
      if (!['pending', 'running', 'success', 'failed', 'canceled'].includes(String(body.state))) return json(400, { message: 'state does not have a valid value' }), true;
      const project = decodeURIComponent(gitlab[1]!);
      posted.push({ api: 'gitlab', project, sha: gitlab[2]!, body });
      json(201, {
        id: posted.length, sha: gitlab[2], ref: null, status: body.state, name: body.name ?? 'default', target_url: body.target_url ?? null,
        description: body.description ?? null, created_at: new Date().toISOString(), started_at: null, finished_at: null, allow_failure: false, coverage: null,
        author: { id: 1, username: 'gatehouse-bot', name: 'Gatehouse', state: 'active' },
      });
      return true;
    }
    const auth = String(req.headers.authorization ?? '');
    if (!tokens.gitea.some((t) => auth === `token ${t}`)) return json(401, { message: 'token is required' }), true;
    if (!['pending', 'success', 'error', 'failure', 'warning'].includes(String(body.state))) return json(422, { message: 'invalid state' }), true;
    posted.push({ api: 'gitea', project: `${gitea![1]}/${gitea![2]}`, sha: gitea![3]!, body });
    json(201, {
      id: posted.length, status: body.state, target_url: body.target_url ?? '', description: body.description ?? '', context: body.context ?? '',
      url: `http://x/api/v1/repos/${gitea![1]}/${gitea![2]}/statuses/${gitea![3]}`, creator: { id: 1, login: 'gatehouse-bot' },
      created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
    });
    return true;
  };
  return { posted, handler };
}

/** GitLab's documented push event for a repository at `cloneUrl`. */
export function gitlabPushPayload(cloneUrl: string, push: { branch: string; before: string; after: string; user?: string }): Record<string, unknown> {
  const web = cloneUrl.replace(/\.git$/, '');
  const path = new URL(web).pathname.slice(1);
  const ssh = `git@${new URL(web).hostname}:${path}.git`;
  return {
    object_kind: 'push', event_name: 'push', before: push.before, after: push.after, ref: `refs/heads/${push.branch}`, ref_protected: true,
    checkout_sha: push.after, message: null, user_id: 4, user_name: 'John Smith', user_username: push.user ?? 'jsmith', user_email: 'john@example.com',
    user_avatar: null, project_id: 15,
    project: {
      id: 15, name: path.split('/').pop(), description: '', web_url: web, avatar_url: null, git_ssh_url: ssh, git_http_url: cloneUrl, namespace: path.split('/')[0],
      visibility_level: 0, path_with_namespace: path, default_branch: 'main', ci_config_path: null, homepage: web, url: ssh, ssh_url: ssh, http_url: cloneUrl,
    },
    commits: [{ id: push.after, message: 'update registry', title: 'update registry', timestamp: new Date().toISOString(), url: `${web}/-/commit/${push.after}`, author: { name: 'John Smith', email: 'john@example.com' }, added: [], modified: ['connectors_registry.json'], removed: [] }],
    total_commits_count: 1,
    repository: { name: path.split('/').pop(), url: ssh, description: '', homepage: web, git_http_url: cloneUrl, git_ssh_url: ssh, visibility_level: 0 },
  };
}

/** Gitea's (and Forgejo's) documented push event for a repository at `cloneUrl`. */
export function giteaPushPayload(cloneUrl: string, push: { branch: string; before: string; after: string; user?: string }): Record<string, unknown> {
  const html = cloneUrl.replace(/\.git$/, '');
  const [owner, name] = new URL(html).pathname.slice(1).split('/');
  const user = { id: 1, login: push.user ?? 'gitea', full_name: 'Gitea', email: 'someone@example.com', avatar_url: '', username: push.user ?? 'gitea' };
  return {
    ref: `refs/heads/${push.branch}`, before: push.before, after: push.after, compare_url: `${html}/compare/${push.before}...${push.after}`,
    commits: [{ id: push.after, message: 'update registry\n', url: `${html}/commit/${push.after}`, author: { name: 'Gitea', email: 'someone@example.com', username: 'gitea' }, committer: { name: 'Gitea', email: 'someone@example.com', username: 'gitea' }, timestamp: new Date().toISOString() }],
    repository: {
      id: 140, owner: user, name, full_name: `${owner}/${name}`, description: '', private: false, fork: false, html_url: html, ssh_url: `ssh://git@${new URL(html).host}/${owner}/${name}.git`,
      clone_url: cloneUrl, website: '', stars_count: 0, forks_count: 0, watchers_count: 1, open_issues_count: 0, default_branch: 'main', created_at: new Date().toISOString(), updated_at: new Date().toISOString(),
    },
    pusher: user,
    sender: user,
  };
}

export async function deliverGitlab(url: string, payload: unknown, token: string, uuid = randomUUID()): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': token, 'x-gitlab-event-uuid': uuid, 'x-gitlab-instance': 'https://gitlab.example.com', 'user-agent': 'GitLab/17.5.0' },
    body: JSON.stringify(payload),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export async function deliverGitea(url: string, payload: unknown, secret: string, options: { id?: string; forgejo?: boolean; signature?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const body = JSON.stringify(payload);
  const signature = options.signature ?? createHmac('sha256', secret).update(body).digest('hex');
  const id = options.id ?? randomUUID();
  const headers: Record<string, string> = options.forgejo === true
    ? { 'x-forgejo-delivery': id, 'x-forgejo-event': 'push', 'x-forgejo-event-type': 'push', 'x-forgejo-signature': signature }
    : { 'x-gitea-delivery': id, 'x-gitea-event': 'push', 'x-gitea-event-type': 'push', 'x-gitea-signature': signature, 'x-gogs-delivery': id, 'x-gogs-event': 'push' };
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
