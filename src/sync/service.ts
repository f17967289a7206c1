import { createHash } from 'node:crypto';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { SpanScope } from '../observability/tracing.js';
import { AppError, BadRequestError, NotFoundError } from '../errors.js';
import { createGitHub, GitHubError, type GitHub } from '../github/index.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import { REPOSITORY_PATTERN, type RegistryStore } from '../registry/store.js';
import type { TenantStore } from '../tenants/store.js';
import { SyncCoordinator } from './coordinator.js';
import { GitHubGate } from './github-gate.js';
import { SyncHistory } from './history.js';
import { syncKeys } from './keys.js';
import { isGitLink } from './git-links.js';
import { LinkStore, type RepoLinkEntry, type StoredLink } from './links.js';
import { DEFAULT_REGISTRY_PATH, repoKeyOf, type LinkPin, type RepositoryLink, type SyncRecord } from './model.js';
import { requestRollback, requestUnpin, type Requester, type RollbackAccepted, type RollbackDeps } from './rollback.js';
import { syncMetrics, type SyncMetrics } from './processor.js';
import { createQueues, DEFAULT_RETRY, statusJobOptions, type RetrySettings, type SyncQueues } from './queues.js';
import { SourceStep, sourceStepMetrics } from './source-step.js';
import type { SourceProvider } from './source.js';
import { GitSource } from './sources/git.js';
import { githubSources } from './sources/github.js';
import type { GitSources } from './git-service.js';

/**
 * The sync domain as the rest of the process sees it: repository links, triggers (push, manual,
 * link), history and queue inspection. Workers (workers/sync-worker.ts) process what this queues.
 */

export interface SyncSettings {
  /** Sync jobs: attempts and first backoff for GitHub 5xx / network / Redis trouble. */
  retry: RetrySettings;
  /** Commit status jobs. */
  statusRetry: RetrySettings;
  /** Attempts during which a branch head older than the pushed commit counts as GitHub lag. */
  staleAttempts: number;
  /** How long an unlink waits for a running sync of the link before removing its connectors. */
  unlinkWaitMs: number;
  /** How often the worker looks for Git links due for a poll (each link's interval decides when it is due). */
  gitPollTickMs: number;
}

export const DEFAULT_SYNC_SETTINGS: SyncSettings = {
  retry: DEFAULT_RETRY,
  statusRetry: { attempts: 5, backoffMs: 5000 },
  staleAttempts: 3,
  unlinkWaitMs: 15_000,
  gitPollTickMs: 5000,
};

export interface LinkView {
  tenant: string;
  repository: string;
  branch: string;
  path: string;
  created_at: string;
  updated_at: string;
  applied_commit: string | null;
  /** Set while the link is pinned to a commit by a rollback. */
  pin: LinkPin | null;
  last_sync: SyncRecord | null;
}

const BRANCH_MAX = 255;

export class RepositoryNotLinkedError extends NotFoundError {
  constructor(tenant: string, repository: string) {
    super('REPOSITORY_NOT_LINKED', `tenant "${tenant}" has no link to repository ${repository}`);
  }
}

/** GitHub says the repository or branch of a new link cannot be read: refused at once, not in the background. */
export class LinkTargetUnreadableError extends AppError {
  constructor(message: string) {
    super(422, 'REPOSITORY_NOT_READABLE', message);
  }
}

export class SyncService {
  readonly github: GitHub;
  readonly links: LinkStore;
  readonly history: SyncHistory;
  readonly queues: SyncQueues;
  readonly coordinator: SyncCoordinator;
  readonly gate: GitHubGate;
  readonly metrics: SyncMetrics;
  readonly settings: SyncSettings;
  /** Where links read their registry file (one implementation per source kind). */
  readonly sources: SourceProvider;
  /** Reads each commit's file once and validates each blob once, for every link and check of this process. */
  readonly sourceStep: SourceStep;

  constructor(
    private readonly deps: {
      config: Config;
      log: Logger;
      redis: RedisClient;
      /** A getter: the services object creates the registry store beside this service. */
      registry: () => RegistryStore;
      /** A getter: Git links' sources are created beside this service, on its coordinator. */
      git: () => GitSources;
      tenants: TenantStore;
      metrics: Registry;
      stateUrl: string;
    },
    settings: Partial<SyncSettings> = {},
  ) {
    this.settings = {
      ...DEFAULT_SYNC_SETTINGS,
      ...settings,
      retry: { ...(settings.retry ?? DEFAULT_SYNC_SETTINGS.retry) },
      statusRetry: { ...(settings.statusRetry ?? DEFAULT_SYNC_SETTINGS.statusRetry) },
    };
    this.gate = new GitHubGate(deps.redis);
    // Pre-emptive: the response that spends the last call of the budget closes the gate until the
    // reset, so no job of any process collects a 403 first.
    this.github = createGitHub(deps.config, deps.log, {
      onRateLimitExhausted: (resetAtMs) => {
        deps.log.warn({ github: true, until: new Date(resetAtMs).toISOString() }, 'GitHub rate limit spent: holding GitHub calls until the reset');
        this.gate.block(resetAtMs).catch((err: unknown) => deps.log.warn({ err: { message: (err as Error).message } }, 'could not record the GitHub rate-limit wait'));
      },
    });
    const github = githubSources(this.github);
    this.sources = { forLink: (link) => (isGitLink(link) ? new GitSource(deps.git(), link) : github.forLink(link)) };
    this.sourceStep = new SourceStep({ allowHttp: deps.config.upstreamAllowHttp, allowCidrs: deps.config.upstreamAllowCidrs }, sourceStepMetrics(deps.metrics));
    this.links = new LinkStore(deps.redis);
    this.history = new SyncHistory(deps.redis);
    this.queues = createQueues(deps.stateUrl, deps.config.redisCa);
    this.metrics = syncMetrics(deps.metrics);
    // The coordinator reads `settings.retry` when it adds a job, so tests may tune it afterwards.
    this.coordinator = new SyncCoordinator(deps.redis, this.history, this.queues, this.settings.retry, deps.log);
  }

  /** Tunes retries and waits (tests use short ones); applies to jobs queued from now on. */
  configure(settings: Partial<SyncSettings>): void {
    if (settings.retry !== undefined) Object.assign(this.settings.retry, settings.retry);
    if (settings.statusRetry !== undefined) Object.assign(this.settings.statusRetry, settings.statusRetry);
    if (settings.staleAttempts !== undefined) this.settings.staleAttempts = settings.staleAttempts;
    if (settings.unlinkWaitMs !== undefined) this.settings.unlinkWaitMs = settings.unlinkWaitMs;
    if (settings.gitPollTickMs !== undefined) this.settings.gitPollTickMs = settings.gitPollTickMs;
  }

  /** Links (or re-points) a repository and queues its first sync (docs/design.md#repository-links). */
  async link(tenant: string, repository: string, input: { branch: string; path?: string }): Promise<{ created: boolean; link: StoredLink; syncId: string }> {
    checkRepository(repository);
    const branch = checkBranch(input.branch);
    const path = checkPath(input.path ?? DEFAULT_REGISTRY_PATH);
    await this.deps.tenants.require(tenant);
    await this.checkReadable(repository, branch, path);
    const { status, link } = await this.links.put(tenant, repository, branch, path);
    const { syncId } = await this.coordinator.trigger({ tenant, repository: link.repository, repoKey: repoKeyOf(repository), branch, trigger: 'link' });
    return { created: status === 'created', link, syncId };
  }

  /**
   * Linking checks what it can at once: a repository or branch GitHub says does not exist, or that
   * the credentials cannot read, is refused with the reason. When GitHub cannot answer now (down,
   * rate limit spent), the link is made and its first sync retries like any other.
   */
  private async checkReadable(repository: string, branch: string, path: string): Promise<void> {
    if ((await this.gate.blockedUntil()) > 0) return;
    let problem: string | undefined;
    try {
      problem = await this.github.repositories.linkProblem(repository, branch, path);
    } catch (err) {
      if (!(err instanceof GitHubError)) throw err;
      this.deps.log.warn({ github: true, repository, err: { message: err.message } }, 'could not check the new link with GitHub: its first sync will retry');
      return;
    }
    if (problem !== undefined) throw new LinkTargetUnreadableError(problem);
  }

  /**
   * Unlinks and removes every connector of the link (docs/design.md#removing-connectors, docs/design.md#repository-links). A sync of the link that is
   * running now is waited for, so it cannot bring connectors back after they were removed.
   */
  async unlink(tenant: string, repository: string): Promise<{ repository: string; deleted: string[] }> {
    const link = await this.requireLink(tenant, repository);
    await this.links.remove(tenant, repository);
    const repoKey = repoKeyOf(repository);
    // Only a sync that is executing may already be past its "is the link still there?" check; one
    // waiting (or backing off) will find the link gone and end as superseded.
    const deadline = Date.now() + this.settings.unlinkWaitMs;
    for (;;) {
      const { running } = await this.coordinator.linkState(tenant, repoKey);
      if (running === undefined || Date.now() >= deadline || (await this.queues.sync.getJobState(running)) !== 'active') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { deleted } = await this.deps.registry().removeLink(tenant, link.repository);
    await this.deps.redis.del(syncKeys.headEtag(repoKey, link.branch));
    // The link's spelling (docs/design.md#repository-names: names compare case-insensitively, the linked one is shown).
    return { repository: link.repository, deleted };
  }

  /** Manual resync (202): re-applies the branch head even when the file did not change. */
  async resync(tenant: string, repository: string): Promise<string> {
    const link = await this.requireLink(tenant, repository);
    const { syncId } = await this.coordinator.trigger({ tenant, repository: link.repository, repoKey: repoKeyOf(repository), branch: link.branch, trigger: 'manual' });
    return syncId;
  }

  /**
   * Rollback (202): re-applies the commit of an earlier succeeded sync of the link and pins the link
   * to it once applied (docs/sync.md#rollback-and-pinning). Refusals (422/409) change nothing.
   */
  async rollback(tenant: string, repository: string, sha: string, by: Requester): Promise<RollbackAccepted> {
    return requestRollback(this.rollbackDeps(), await this.requireLink(tenant, repository), sha, by);
  }

  /** Unpin (202): applies the branch head and follows the branch again. 409 when the link is not pinned. */
  async unpin(tenant: string, repository: string, by: Requester): Promise<{ sync_id: string; pinned_to: string }> {
    return requestUnpin(this.rollbackDeps(), await this.requireLink(tenant, repository), by);
  }

  private async requireLink(tenant: string, repository: string): Promise<StoredLink> {
    await this.deps.tenants.require(tenant);
    const link = await this.links.get(tenant, repository);
    if (link === undefined) throw new RepositoryNotLinkedError(tenant, repository);
    return link;
  }

  /** What a rollback or unpin request of any link (GitHub or Git) reads and queues through. */
  rollbackDeps(): RollbackDeps {
    return { redis: this.deps.redis, links: this.links, history: this.history, coordinator: this.coordinator, sources: this.sources, sourceStep: this.sourceStep, registry: this.deps.registry(), log: this.deps.log };
  }

  /** The tenant links a push to `repository`/`branch` concerns (one Redis read). */
  async linksForPush(repository: string, branch: string): Promise<RepoLinkEntry[]> {
    return (await this.links.linksOfRepository(repoKeyOf(repository))).filter((e) => e.branch === branch);
  }

  /** A verified push delivery: queue a sync for every tenant link of that repository and branch. */
  async onPush(
    push: { repository: string; branch: string; sha: string | undefined; deliveryId: string; pusher: string | undefined },
    links?: RepoLinkEntry[],
    trace?: SpanScope,
  ): Promise<number> {
    const repoKey = repoKeyOf(push.repository);
    const entries = links ?? (await this.linksForPush(push.repository, push.branch));
    const triggered = await Promise.all(entries.map((e) => this.coordinator.trigger({
      tenant: e.tenant,
      repository: e.repository,
      repoKey,
      branch: e.branch,
      trigger: 'push',
      ...(push.sha !== undefined ? { sha: push.sha } : {}),
      deliveryId: push.deliveryId,
      ...(push.pusher !== undefined ? { pusher: push.pusher } : {}),
      trace,
    })));
    // The pushed commit gets the same check run as a pull request (its plan is what the syncs
    // applied): one job per commit, finished once every sync of this delivery has. Only a GitHub
    // App may create check runs; with a token the syncs' commit statuses are the whole report, and
    // no call is spent on a check run GitHub would refuse.
    if (push.sha !== undefined && entries.length > 0 && this.github.mode === 'app') {
      const jobId = `push-${createHash('sha256').update(repoKey).digest('hex').slice(0, 16)}-${push.sha}`;
      await this.queues.status.add(
        'check',
        { repository: entries[0]!.repository, repoKey, branch: push.branch, headSha: push.sha, deliveryId: push.deliveryId, syncs: entries.map((e, i) => ({ tenant: e.tenant, syncId: triggered[i]!.syncId })) },
        { ...statusJobOptions(this.settings.statusRetry), jobId },
      );
    }
    return entries.length;
  }

  /**
   * A verified pull request delivery (opened, synchronize, reopened) whose base branch is linked:
   * queue one check of its head commit (a redelivery of the same head is one job).
   */
  async onPullRequest(pr: { repository: string; branch: string; headSha: string; number: number; deliveryId: string }): Promise<void> {
    const repoKey = repoKeyOf(pr.repository);
    const jobId = `pr-${createHash('sha256').update(repoKey).digest('hex').slice(0, 16)}-${pr.number}-${pr.headSha}`;
    await this.queues.status.add(
      'check',
      { repository: pr.repository, repoKey, branch: pr.branch, headSha: pr.headSha, pullRequest: pr.number, deliveryId: pr.deliveryId },
      { ...statusJobOptions(this.settings.statusRetry), jobId },
    );
  }

  async listLinks(tenant: string): Promise<LinkView[]> {
    await this.deps.tenants.require(tenant);
    // Git links (`git:<name>`) share the hash; they are listed under /git.
    const links = (await this.links.list(tenant)).filter((l) => !isGitLink(l));
    return Promise.all(links.map(async (l) => ({ ...view(l), last_sync: await this.lastSync(tenant, l.repository) })));
  }

  async lastSync(tenant: string, repository: string): Promise<SyncRecord | null> {
    const [id] = await this.deps.redis.zrevrange(syncKeys.linkSyncs(tenant, repoKeyOf(repository)), 0, 0);
    return id === undefined ? null : ((await this.history.getIn(tenant, id)) ?? null);
  }

  /** Job counts per queue and state (docs/admin-api.md `GET /queues`). */
  async queueCounts(): Promise<{ name: string; counts: Record<string, number>; workers: number }[]> {
    return Promise.all(this.queues.all().map(async (q) => ({
      name: q.name,
      counts: await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'),
      workers: (await q.getWorkers()).length,
    })));
  }

  /** Job counts per queue of the states that make its depth, and failed (metrics, usage charts). */
  async jobCounts(): Promise<{ name: string; counts: Record<string, number> }[]> {
    return Promise.all(this.queues.all().map(async (q) => ({ name: q.name, counts: await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed') })));
  }

  async close(): Promise<void> {
    await this.queues.close();
  }
}

function view(l: RepositoryLink): Omit<LinkView, 'last_sync'> {
  return {
    tenant: l.tenant,
    repository: l.repository,
    branch: l.branch,
    path: l.path,
    created_at: l.created_at,
    updated_at: l.updated_at,
    applied_commit: l.applied?.commit ?? null,
    pin: l.pin ?? null,
  };
}

export function checkRepository(repository: string): void {
  if (!REPOSITORY_PATTERN.test(repository) || repository.split('/').some((p) => p === '.' || p === '..')) {
    throw new BadRequestError('INVALID_REPOSITORY', `"${repository.slice(0, 200)}" is not a GitHub repository name: use owner/repo`);
  }
}

/** Git's ref-name rules (git check-ref-format), minus what GitHub never creates anyway. */
export function checkBranch(branch: unknown): string {
  if (typeof branch !== 'string' || branch === '' || branch.length > BRANCH_MAX) {
    throw new BadRequestError('INVALID_BRANCH', `branch must be a non-empty string of at most ${BRANCH_MAX} characters`);
  }
  const bad = /[\x00-\x20\x7f~^:?*[\\]/.test(branch) || branch.startsWith('/') || branch.startsWith('-') || branch.endsWith('/') || branch.endsWith('.') || branch.endsWith('.lock') ||
    branch.includes('..') || branch.includes('//') || branch.includes('@{') || branch === '@' || branch.split('/').some((s) => s.startsWith('.'));
  if (bad) throw new BadRequestError('INVALID_BRANCH', `"${branch.slice(0, 100)}" is not a valid git branch name`);
  return branch.replace(/^refs\/heads\//, '');
}

export function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path === '' || path.length > 1024) {
    throw new BadRequestError('INVALID_PATH', 'path must be a non-empty repository-relative file path');
  }
  const segments = path.split('/');
  if (path.startsWith('/') || segments.some((s) => s === '' || s === '.' || s === '..') || /[\x00-\x1f\x7f]/.test(path)) {
    throw new BadRequestError('INVALID_PATH', `"${path.slice(0, 200)}" is not a repository-relative file path (no leading "/", no "." or ".." segments)`);
  }
  return path;
}
