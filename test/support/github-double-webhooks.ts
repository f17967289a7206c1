import { createHmac, randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type { DoubleRepository, GitHubDouble } from './github-double.js';

/**
 * Webhook deliveries as GitHub sends them: payloads built from @octokit/webhooks-examples (the
 * `push` example for a branch with an installation, the `ping` example) with this double's
 * repositories and commits filled in, signed with `X-Hub-Signature-256` (and the legacy SHA-1
 * `X-Hub-Signature`), and the delivery headers GitHub sets.
 */

interface ExampleSet {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);
const examples = require('@octokit/webhooks-examples') as ExampleSet[];

function example(event: string, pick: (e: Record<string, unknown>) => boolean): Record<string, unknown> {
  const set = examples.find((e) => e.name === event);
  const found = set?.examples.find(pick);
  if (found === undefined) throw new Error(`@octokit/webhooks-examples has no suitable ${event} example`);
  return structuredClone(found);
}

const ZERO = '0000000000000000000000000000000000000000';

/** Rewrites an example's repository object (URLs, names, ids) to describe `repo` on `double`. */
function repositoryFor(double: GitHubDouble, repo: DoubleRepository, base: Record<string, unknown>): Record<string, unknown> {
  const exampleName = String(base.full_name);
  const text = JSON.stringify(base)
    .split(`https://api.github.com/repos/${exampleName}`).join(`${double.url}/repos/${repo.fullName}`)
    .split(`https://github.com/${exampleName}`).join(`${double.url}/${repo.fullName}`)
    .split(`git://github.com/${exampleName}`).join(`git://127.0.0.1/${repo.fullName}`)
    .split(`git@github.com:${exampleName}`).join(`git@127.0.0.1:${repo.fullName}`)
    .split('https://api.github.com').join(double.url)
    .split('https://github.com').join(double.url);
  const r = JSON.parse(text) as Record<string, unknown> & { owner: Record<string, unknown> };
  r.id = repo.id;
  r.node_id = repo.nodeId;
  r.name = repo.name;
  r.full_name = repo.fullName;
  r.private = repo.isPrivate;
  r.default_branch = repo.defaultBranch;
  if ('master_branch' in r) r.master_branch = repo.defaultBranch;
  r.owner = { ...r.owner, login: repo.owner, name: repo.owner };
  return r;
}

export interface PushOptions {
  branch: string;
  before: string | undefined;
  after: string | undefined;
  forced?: boolean;
  pusher?: { name: string; email: string };
}

/** A `push` payload shaped like GitHub's (example with `refs/heads/…` and an installation). */
export function pushPayload(double: GitHubDouble, repo: DoubleRepository, opts: PushOptions): Record<string, unknown> {
  const base = example('push', (e) => String(e.ref).startsWith('refs/heads/') && e.installation !== undefined);
  const before = opts.before ?? ZERO;
  const after = opts.after ?? ZERO;
  const html = `${double.url}/${repo.fullName}`;
  const exampleCommit = (base.head_commit ?? {}) as Record<string, unknown>;
  const newCommits = after === ZERO ? [] : repo.ancestors(after).filter((s) => before === ZERO ? s === after : !repo.ancestors(before).includes(s)).reverse();
  const commitEntry = (sha: string) => {
    const c = repo.commits.get(sha)!;
    const parent = c.parents[0] === undefined ? undefined : repo.commits.get(c.parents[0]);
    const added: string[] = [];
    const removed: string[] = [];
    const modified: string[] = [];
    for (const [p, blob] of c.files) {
      const prev = parent?.files.get(p);
      if (prev === undefined) added.push(p);
      else if (prev !== blob) modified.push(p);
    }
    for (const p of parent?.files.keys() ?? []) if (!c.files.has(p)) removed.push(p);
    const who = { name: c.author.name, email: c.author.email, username: 'monalisa' };
    return {
      ...exampleCommit,
      id: sha,
      tree_id: c.treeSha,
      distinct: true,
      message: c.message,
      timestamp: new Date(c.committer.time * 1000).toISOString().replace('.000Z', 'Z'),
      url: `${html}/commit/${sha}`,
      author: who,
      committer: who,
      added,
      removed,
      modified,
    };
  };
  const pusher = opts.pusher ?? { name: 'monalisa', email: 'mona@example.com' };
  return {
    ...base,
    ref: `refs/heads/${opts.branch}`,
    before,
    after,
    created: before === ZERO,
    deleted: after === ZERO,
    forced: opts.forced ?? false,
    base_ref: null,
    compare: `${html}/compare/${before.slice(0, 12)}...${after.slice(0, 12)}`,
    // GitHub lists at most 20 commits in a push payload.
    commits: newCommits.slice(-20).map(commitEntry),
    head_commit: after === ZERO ? null : commitEntry(after),
    repository: repositoryFor(double, repo, base.repository as Record<string, unknown>),
    pusher,
    sender: { ...(base.sender as Record<string, unknown>), login: pusher.name },
    ...(repo.installationId === undefined ? { installation: undefined } : { installation: { id: repo.installationId, node_id: Buffer.from(`023:Installation${repo.installationId}`).toString('base64') } }),
  };
}

export interface PullRequestOptions {
  action: 'opened' | 'synchronize' | 'reopened' | 'closed' | 'labeled';
  number: number;
  /** The branch the pull request merges into. */
  base: string;
  /** The head branch and commit (for a fork: a commit of `headRepo`, readable through the base repository like GitHub's `refs/pull/N/head`). */
  headRef: string;
  headSha: string;
  /** The fork the head lives in (default: the base repository). */
  headRepo?: DoubleRepository;
}

/** A `pull_request` payload shaped like GitHub's (the example for the action, with an installation when the repository has one). */
export function pullRequestPayload(double: GitHubDouble, repo: DoubleRepository, opts: PullRequestOptions): Record<string, unknown> {
  const base = example('pull_request', (e) => e.action === opts.action && e.installation !== undefined);
  const pr = base.pull_request as Record<string, unknown> & { head: Record<string, unknown>; base: Record<string, unknown> };
  const repository = repositoryFor(double, repo, base.repository as Record<string, unknown>);
  const headRepo = opts.headRepo === undefined ? repository : repositoryFor(double, opts.headRepo, base.repository as Record<string, unknown>);
  const baseSha = repo.head(opts.base) ?? ZERO;
  const html = `${double.url}/${repo.fullName}/pull/${opts.number}`;
  const api = `${double.url}/repos/${repo.fullName}`;
  return {
    ...base,
    action: opts.action,
    number: opts.number,
    pull_request: {
      ...pr,
      url: `${api}/pulls/${opts.number}`,
      html_url: html,
      diff_url: `${html}.diff`,
      patch_url: `${html}.patch`,
      issue_url: `${api}/issues/${opts.number}`,
      commits_url: `${api}/pulls/${opts.number}/commits`,
      review_comments_url: `${api}/pulls/${opts.number}/comments`,
      comments_url: `${api}/issues/${opts.number}/comments`,
      statuses_url: `${api}/statuses/${opts.headSha}`,
      number: opts.number,
      state: opts.action === 'closed' ? 'closed' : 'open',
      head: { ...pr.head, label: `${(headRepo as { owner: { login: string } }).owner.login}:${opts.headRef}`, ref: opts.headRef, sha: opts.headSha, repo: headRepo },
      base: { ...pr.base, label: `${repo.owner}:${opts.base}`, ref: opts.base, sha: baseSha, repo: repository },
    },
    repository,
    ...(repo.installationId === undefined ? { installation: undefined } : { installation: { id: repo.installationId, node_id: Buffer.from(`023:Installation${repo.installationId}`).toString('base64') } }),
  };
}

/** A `ping` payload for a repository webhook. */
export function pingPayload(double: GitHubDouble, repo: DoubleRepository): Record<string, unknown> {
  const base = example('ping', (e) => e.repository !== undefined && e.hook !== undefined);
  return { ...base, repository: repositoryFor(double, repo, base.repository as Record<string, unknown>) };
}

/** Any other event from the examples (e.g. `pull_request`, `installation`), unchanged. */
export function examplePayload(event: string): Record<string, unknown> {
  return example(event, () => true);
}

export function signBody(secret: string, body: string | Buffer): { sha256: string; sha1: string } {
  return {
    sha256: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
    sha1: `sha1=${createHmac('sha1', secret).update(body).digest('hex')}`,
  };
}

export interface DeliveryOptions {
  event: string;
  payload: unknown;
  /** Signs with this secret; `null` sends no signature headers at all. */
  secret: string | null;
  /** Overrides the computed `X-Hub-Signature-256` (to send a wrong one). */
  signature?: string;
  deliveryId?: string;
  /** GitHub can be configured to post `application/x-www-form-urlencoded` (`payload=<json>`). */
  contentType?: 'json' | 'form';
}

export interface DeliveryResult {
  status: number;
  body: unknown;
  deliveryId: string;
  ms: number;
}

/** Posts one delivery to `url` (the service's `/webhooks/github`) exactly as GitHub's hookshot does. */
export async function deliver(url: string, opts: DeliveryOptions): Promise<DeliveryResult> {
  const json = JSON.stringify(opts.payload);
  const body = opts.contentType === 'form' ? `payload=${encodeURIComponent(json)}` : json;
  const deliveryId = opts.deliveryId ?? randomUUID();
  const headers: Record<string, string> = {
    'content-type': opts.contentType === 'form' ? 'application/x-www-form-urlencoded' : 'application/json',
    'user-agent': 'GitHub-Hookshot/7f2e1a9',
    'x-github-event': opts.event,
    'x-github-delivery': deliveryId,
    'x-github-hook-id': '424242',
    'x-github-hook-installation-target-type': 'repository',
    'x-github-hook-installation-target-id': '1',
  };
  if (opts.secret !== null) {
    const sig = signBody(opts.secret, body);
    headers['x-hub-signature-256'] = opts.signature ?? sig.sha256;
    headers['x-hub-signature'] = sig.sha1;
  } else if (opts.signature !== undefined) {
    headers['x-hub-signature-256'] = opts.signature;
  }
  const started = performance.now();
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  const ms = performance.now() - started;
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed, deliveryId, ms };
}
