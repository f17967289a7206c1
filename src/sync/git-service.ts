import type { SpanScope } from '../observability/tracing.js';
import type { Config } from '../config.js';
import { AppError, BadRequestError, ConflictError, NotFoundError } from '../errors.js';
import { GitRemotes, GitSourceError, GitStatuses, checkGitUrl, matchKey, type GitCredentials, type GitTarget } from '../git/index.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import type { RegistryStore } from '../registry/store.js';
import type { SecretStore } from '../secrets/store.js';
import type { TenantStore } from '../tenants/store.js';
import { createUpstreamDispatcher } from '../upstream/dispatcher.js';
import { createAddressGuard } from '../upstream/guard.js';
import type { SyncCoordinator } from './coordinator.js';
import { GIT_LINK_NAME_PATTERN, GitLinkStore, gitLinkKey, type GitLinkSettings, type GitProvider, type StoredGitLink } from './git-links.js';
import { GIT_POLL_JOB, GIT_POLL_SCHEDULER_ID } from './git-poller.js';
import type { SyncHistory } from './history.js';
import { syncKeys } from './keys.js';
import { DEFAULT_REGISTRY_PATH, type LinkPin, type SyncRecord } from './model.js';
import type { SyncQueues } from './queues.js';
import { requestRollback, requestUnpin, type Requester, type RollbackAccepted, type RollbackDeps } from './rollback.js';
import { checkBranch, checkPath } from './service.js';

/**
 * Git sources beyond GitHub: links to any repository over HTTPS (GitLab, Gitea/Forgejo,
 * Bitbucket, a plain Git server), their credentials (a tenant secret, read when needed and never
 * stored elsewhere), webhook fan-out by clone URL, and the reads the sync pipeline and the poller
 * make. Syncs of these links run through the same coordinator, history and activation as GitHub's,
 * and their rollback and unpin through the same request code (rollback.ts).
 */

/** A Git host is remote and sometimes slow; a hung fetch must not pin a sync worker forever. */
const GIT_TIMEOUT_MS = 30_000;
const POLL_MIN_S = 5;
const POLL_MAX_S = 86_400;
/** GitLab's documented user name for token authentication over HTTPS. */
export const DEFAULT_GIT_USERNAME = 'oauth2';

export interface GitLinkInput {
  url: string;
  branch: string;
  path?: string;
  username?: string;
  token_secret?: string;
  poll_interval_s?: number;
  provider?: GitProvider;
}

export interface GitLinkView {
  tenant: string;
  name: string;
  source: 'git';
  url: string;
  branch: string;
  path: string;
  username: string | null;
  token_secret: string | null;
  poll_interval_s: number;
  provider: GitProvider;
  created_at: string;
  updated_at: string;
  applied_commit: string | null;
  /** Set while a rollback pins the link to a commit. */
  pin: LinkPin | null;
  last_sync: SyncRecord | null;
}

export class GitLinkNotFoundError extends NotFoundError {
  constructor(tenant: string, name: string) {
    super('GIT_LINK_NOT_FOUND', `tenant "${tenant}" has no Git link named "${name}"`);
  }
}

export class GitSources {
  readonly links: GitLinkStore;
  readonly remotes: GitRemotes;
  readonly statuses: GitStatuses;
  private readonly dispatcher: ReturnType<typeof createUpstreamDispatcher>;

  constructor(
    private readonly deps: {
      config: Config;
      log: Logger;
      redis: RedisClient;
      tenants: TenantStore;
      secrets: SecretStore;
      registry: () => RegistryStore;
      coordinator: SyncCoordinator;
      history: SyncHistory;
      queues: SyncQueues;
      unlinkWaitMs: () => number;
      pollTickMs: () => number;
      /** The rollback request's dependencies (shared with GitHub links: one code path for both). */
      rollback: () => RollbackDeps;
    },
  ) {
    const { config } = deps;
    const dispatcher = (this.dispatcher = createUpstreamDispatcher({ guard: createAddressGuard(config.upstreamAllowCidrs), extraCa: config.upstreamCa, timeoutMs: GIT_TIMEOUT_MS }));
    this.links = new GitLinkStore(deps.redis);
    this.remotes = new GitRemotes({ dispatcher, allowHttp: config.upstreamAllowHttp, timeoutMs: GIT_TIMEOUT_MS });
    this.statuses = new GitStatuses({ dispatcher, timeoutMs: GIT_TIMEOUT_MS });
  }

  /**
   * Links (or updates) a Git source and queues its first sync. The branch is read before anything
   * is stored: a repository or branch that cannot be read is a 422 naming why.
   */
  async link(tenant: string, name: string, input: GitLinkInput): Promise<{ created: boolean; link: StoredGitLink; syncId: string }> {
    if (!GIT_LINK_NAME_PATTERN.test(name)) {
      throw new BadRequestError('INVALID_NAME', `"${name.slice(0, 100)}" is not a link name: use lowercase letters, digits and "-" (at most 64, e.g. "gitlab-main")`);
    }
    await this.deps.tenants.require(tenant);
    const url = checkGitUrl(input.url, this.deps.config.upstreamAllowHttp);
    const key = matchKey(url)!;
    const settings: GitLinkSettings = {
      name,
      url,
      match_key: key,
      branch: checkBranch(input.branch),
      path: checkPath(input.path ?? DEFAULT_REGISTRY_PATH),
      username: checkUsername(input.username),
      token_secret: input.token_secret ?? null,
      poll_interval_s: checkPollInterval(input.poll_interval_s),
      provider: input.provider ?? providerOf(url),
    };
    const existing = await this.links.get(tenant, name);
    if (existing !== undefined && existing.url !== url) {
      throw new ConflictError('GIT_URL_CHANGED', `Git link "${name}" reads ${existing.url}; its connectors belong to that URL. Delete the link and create it again to read ${url}`);
    }
    for (const other of await this.links.list(tenant)) {
      if (other.name !== name && other.match_key === key) {
        throw new ConflictError('REPOSITORY_ALREADY_LINKED', `tenant "${tenant}" already reads ${other.url} through the Git link "${other.name}" (one link per repository and tenant): change that link instead`);
      }
    }
    const credentials = await this.credentials(tenant, settings);
    try {
      await this.remotes.head({ url, branch: settings.branch, ...(credentials !== undefined ? { credentials } : {}) });
    } catch (err) {
      if (!(err instanceof GitSourceError)) throw err;
      throw new AppError(422, 'REPOSITORY_NOT_READABLE', err.message, { reason: err.kind });
    }
    const pollAt = this.nextPoll(settings.poll_interval_s);
    const { status, link } = await this.links.put(tenant, settings, pollAt);
    if (pollAt !== null) await this.schedulePolling();
    const { syncId } = await this.deps.coordinator.trigger({ tenant, repository: url, repoKey: gitLinkKey(name), branch: link.branch, trigger: 'link', source: 'git' });
    return { created: status === 'created', link, syncId };
  }

  async get(tenant: string, name: string): Promise<GitLinkView> {
    return this.view(await this.require(tenant, name));
  }

  async list(tenant: string): Promise<GitLinkView[]> {
    await this.deps.tenants.require(tenant);
    return Promise.all((await this.links.list(tenant)).map((l) => this.view(l)));
  }

  /** Unlinks and removes the link's connectors (waiting for a sync of the link that is running). */
  async unlink(tenant: string, name: string): Promise<{ name: string; url: string; deleted: string[] }> {
    const link = await this.require(tenant, name);
    await this.links.remove(tenant, link);
    const key = gitLinkKey(name);
    const deadline = Date.now() + this.deps.unlinkWaitMs();
    for (;;) {
      const { running } = await this.deps.coordinator.linkState(tenant, key);
      if (running === undefined || Date.now() >= deadline || (await this.deps.queues.sync.getJobState(running)) !== 'active') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const { deleted } = await this.deps.registry().removeLink(tenant, link.url);
    return { name, url: link.url, deleted };
  }

  async resync(tenant: string, name: string): Promise<string> {
    const link = await this.require(tenant, name);
    const { syncId } = await this.deps.coordinator.trigger({ tenant, repository: link.url, repoKey: gitLinkKey(name), branch: link.branch, trigger: 'manual', source: 'git' });
    return syncId;
  }

  /**
   * Rollback (202): re-applies the commit of an earlier succeeded sync of the link and pins the
   * link to it once applied, exactly as for a GitHub link (docs/sync.md#rollback-and-pinning).
   */
  async rollback(tenant: string, name: string, sha: string, by: Requester): Promise<RollbackAccepted> {
    return requestRollback(this.deps.rollback(), await this.require(tenant, name), sha, by);
  }

  /** Unpin (202): applies the branch head and follows the branch again. 409 when the link is not pinned. */
  async unpin(tenant: string, name: string, by: Requester): Promise<{ sync_id: string; pinned_to: string }> {
    return requestUnpin(this.deps.rollback(), await this.require(tenant, name), by);
  }

  private async require(tenant: string, name: string): Promise<StoredGitLink> {
    await this.deps.tenants.require(tenant);
    const link = await this.links.get(tenant, name);
    if (link === undefined) throw new GitLinkNotFoundError(tenant, name);
    return link;
  }

  /** The links a push concerns: any of the payload's URLs matches, and the branch is the linked one. */
  async linksForPush(urls: string[], branch: string): Promise<{ tenant: string; name: string }[]> {
    const keys = [...new Set(urls.map((u) => matchKey(u)).filter((k): k is string => k !== undefined))];
    const found = new Map<string, { tenant: string; name: string }>();
    for (const key of keys) for (const l of await this.links.linksForPush(key, branch)) found.set(`${l.tenant} ${l.name}`, l);
    return [...found.values()];
  }

  /** A verified push delivery: queue a sync of every link it concerns. */
  async onPush(push: { links: { tenant: string; name: string }[]; sha: string | undefined; deliveryId: string; pusher: string | undefined; trace?: SpanScope | undefined }): Promise<number> {
    let queued = 0;
    await Promise.all(push.links.map(async ({ tenant, name }) => {
      const link = await this.links.get(tenant, name);
      if (link === undefined) return;
      await this.deps.coordinator.trigger({
        tenant,
        repository: link.url,
        repoKey: gitLinkKey(name),
        branch: link.branch,
        trigger: 'push',
        source: 'git',
        deliveryId: push.deliveryId,
        ...(push.sha !== undefined ? { sha: push.sha } : {}),
        ...(push.pusher !== undefined ? { pusher: push.pusher } : {}),
        trace: push.trace,
      });
      queued++;
    }));
    return queued;
  }

  /** The target to read: URL, branch and the credentials from the tenant secret (read now, kept nowhere). */
  async target(link: StoredGitLink): Promise<GitTarget> {
    const credentials = await this.credentials(link.tenant, link);
    return { url: link.url, branch: link.branch, ...(credentials !== undefined ? { credentials } : {}) };
  }

  /** The token for commit statuses, or why there is none. */
  async statusToken(link: StoredGitLink): Promise<string | undefined> {
    return (await this.credentials(link.tenant, link))?.password;
  }

  /** The worker's poll tick (a BullMQ job scheduler: one tick at a time across every process). */
  async schedulePolling(): Promise<void> {
    await this.deps.queues.reconcile.upsertJobScheduler(
      GIT_POLL_SCHEDULER_ID,
      { every: this.deps.pollTickMs() },
      { name: GIT_POLL_JOB, data: {}, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
  }

  async hasPolledLinks(): Promise<boolean> {
    return (await this.deps.redis.zcard(syncKeys.gitPoll)) > 0;
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  /** Epoch ms of a link's first poll, or null when it is not polled. */
  nextPoll(interval: number | null, now = Date.now()): number | null {
    const s = interval ?? this.deps.config.gitPollIntervalS;
    return s === 0 ? null : now + s * 1000;
  }

  pollIntervalMs(link: StoredGitLink): number | null {
    const s = link.poll_interval_s ?? this.deps.config.gitPollIntervalS;
    return s === 0 ? null : s * 1000;
  }

  private async credentials(tenant: string, link: Pick<GitLinkSettings, 'token_secret' | 'username'>): Promise<GitCredentials | undefined> {
    if (link.token_secret === null) return undefined;
    const { secrets } = await this.deps.secrets.resolve(tenant, [link.token_secret], []);
    const password = secrets.get(link.token_secret);
    if (password === undefined) {
      throw new AppError(422, 'SECRET_NOT_FOUND', `token_secret "${link.token_secret}" is not a secret of tenant "${tenant}": create it with PUT /admin/v1/tenants/${tenant}/secrets/${link.token_secret}`);
    }
    return { username: link.username ?? DEFAULT_GIT_USERNAME, password };
  }

  private async view(l: StoredGitLink): Promise<GitLinkView> {
    const [id] = await this.deps.redis.zrevrange(syncKeys.linkSyncs(l.tenant, gitLinkKey(l.name)), 0, 0);
    const last = id === undefined ? null : ((await this.deps.history.getIn(l.tenant, id)) ?? null);
    return {
      tenant: l.tenant,
      name: l.name,
      source: 'git',
      url: l.url,
      branch: l.branch,
      path: l.path,
      username: l.username,
      token_secret: l.token_secret,
      poll_interval_s: l.poll_interval_s ?? this.deps.config.gitPollIntervalS,
      provider: l.provider,
      created_at: l.created_at,
      updated_at: l.updated_at,
      applied_commit: l.applied?.commit ?? null,
      pin: l.pin ?? null,
      last_sync: last,
    };
  }
}

function checkUsername(username: unknown): string | null {
  if (username === undefined || username === null) return null;
  if (typeof username !== 'string' || username === '' || username.length > 256 || /[:\x00-\x1f\x7f]/.test(username)) {
    throw new BadRequestError('INVALID_USERNAME', 'username must be a non-empty string of at most 256 characters without ":" or control characters');
  }
  return username;
}

function checkPollInterval(value: unknown): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isInteger(value) || (value !== 0 && (value < POLL_MIN_S || value > POLL_MAX_S))) {
    throw new BadRequestError('INVALID_POLL_INTERVAL', `poll_interval_s must be 0 (webhooks only) or a whole number of seconds from ${POLL_MIN_S} to ${POLL_MAX_S}`);
  }
  return value;
}

/** Hosts whose software is known from their name; anything else is plain Git (no commit statuses) unless `provider` says. */
export function providerOf(url: string): GitProvider {
  const host = new URL(url).hostname.toLowerCase();
  if (host === 'gitlab.com' || host.startsWith('gitlab.')) return 'gitlab';
  if (host === 'codeberg.org' || host === 'gitea.com' || host.startsWith('gitea.') || host.startsWith('forgejo.')) return 'gitea';
  return 'generic';
}
