import { AppError, ConflictError } from '../errors.js';
import { GitSourceError } from '../git/index.js';
import { GitHubError } from '../github/index.js';
import type { Logger } from '../logger.js';
import type { RegistryStore } from '../registry/store.js';
import type { SyncCoordinator } from './coordinator.js';
import type { SyncHistory } from './history.js';
import { isGitLink } from './git-links.js';
import { syncKeys } from './keys.js';
import { linkKeyOf, type LinkStore, type StoredLink } from './links.js';
import { repoKeyOf, type SyncError, type SyncRecord } from './model.js';
import { claimedCollisions, claimedPermalinks, previewPlan } from './plan-preview.js';
import type { SourceStep } from './source-step.js';
import type { SourceProvider } from './source.js';
import { SyncFailure } from './stages/failure.js';
import type { RedisClient } from '../redis/connection.js';

/**
 * Rollback and unpin of a link — a GitHub repository link or a Git link, through the source the
 * link reads (docs/sync.md#rollback-and-pinning) — the request side.
 * A rollback names a commit an earlier sync of the same link applied successfully; it is checked
 * here (which sync, nothing queued or running for the link, the file at that commit still valid
 * and free of collisions) and then queued as a `rollback` sync through the link's coordinator, so
 * it activates like any other sync: atomically, one at a time per link. The processor pins the
 * link when that sync succeeds; every refusal here changes nothing.
 */

/** Who asked: the admin token's fingerprint and the optional X-Gatehouse-Actor header. */
export interface Requester {
  actor: string;
  actor_name?: string;
}

export interface RollbackAccepted {
  sync_id: string;
  sha: string;
  restores_sync: string;
  /** What applying it will change, computed now (the sync computes it again when it runs). */
  plan: { created: string[]; updated: string[]; deleted: string[] } | null;
}

/** 7 to 40 hexadecimal digits: a full or abbreviated commit SHA. */
export const SHA_PATTERN = '^[0-9a-fA-F]{7,40}$';

export interface RollbackDeps {
  redis: RedisClient;
  links: LinkStore;
  history: SyncHistory;
  coordinator: SyncCoordinator;
  sources: SourceProvider;
  sourceStep: SourceStep;
  registry: RegistryStore;
  log: Logger;
}

export async function requestRollback(deps: RollbackDeps, link: StoredLink, sha: string, by: Requester): Promise<RollbackAccepted> {
  const wanted = sha.toLowerCase();
  const short = wanted.slice(0, 12);
  const where = describeLink(link);
  const succeededHint = `GET /admin/v1/syncs?tenant=${link.tenant}&repository=${isGitLink(link) ? encodeURIComponent(link.repository) : link.repository}&state=succeeded`;
  const own = await recordsOfLink(deps, link);
  const matching = own.filter((r) => r.sha !== null && r.sha.startsWith(wanted));
  const succeeded = matching.filter((r) => r.state === 'succeeded');
  const commits = new Set(succeeded.map((r) => r.sha));
  if (commits.size > 1) {
    throw new AppError(422, 'SHA_AMBIGUOUS', `"${sha}" starts ${commits.size} commits that ${where} applied (${[...commits].map((c) => c!.slice(0, 12)).join(', ')}): give more digits`);
  }
  if (succeeded.length === 0) {
    const other = await otherLinkWith(deps, link, wanted);
    if (other !== undefined) {
      const route = (await rollbackRouteOf(deps, link.tenant, other)) ?? 'POST …/rollback of that link';
      throw new AppError(422, 'SHA_OF_ANOTHER_LINK', `commit ${short} was synced by the link to ${other.repository}, not by ${link.repository}: roll that link back instead (${route})`, { repository: other.repository, sync_id: other.id });
    }
    const tried = matching[0];
    const message = tried !== undefined
      ? `commit ${short} never succeeded on ${where}: sync ${tried.id} of it ended ${tried.state}. Roll back to a commit whose sync succeeded (${succeededHint})`
      : `no sync of ${where} applied commit ${short} (the last 100 syncs of a link are kept). Roll back to a commit whose sync succeeded (${succeededHint})`;
    throw new AppError(422, 'SHA_NOT_SUCCEEDED', message, tried === undefined ? undefined : { sync_id: tried.id, state: tried.state });
  }
  // Newest first: the last time that commit was applied.
  const restored = succeeded[0]!;
  const repointedAt = repointedAtOf(link);
  if (Date.parse(restored.created_at) < Date.parse(repointedAt)) {
    throw new AppError(422, 'SHA_BEFORE_REPOINT', `commit ${short} was applied (sync ${restored.id}) before the link was pointed at branch "${link.branch}", file ${link.path} on ${repointedAt}: it read another file. Roll back to a commit synced since`, { sync_id: restored.id });
  }
  await refuseWhileBusy(deps, link);
  const commit = restored.sha!;
  const plan = await checkCommitStillApplies(deps, link, commit);
  const { syncId } = await deps.coordinator.trigger({
    tenant: link.tenant,
    repository: link.repository,
    repoKey: linkKeyOf(link),
    branch: link.branch,
    ...sourceOf(link),
    trigger: 'rollback',
    sha: commit,
    restoresSync: restored.id,
    requestedBy: by,
  });
  return { sync_id: syncId, sha: commit, restores_sync: restored.id, plan };
}

/** Unpin: the link follows its branch again; the queued `unpin` sync applies the head and clears the pin when it succeeds. */
export async function requestUnpin(deps: RollbackDeps, link: StoredLink, by: Requester): Promise<{ sync_id: string; pinned_to: string }> {
  const pin = link.pin ?? null;
  if (pin === null) {
    throw new ConflictError('LINK_NOT_PINNED', `${describeLink(link)} is not pinned: it already follows branch "${link.branch}" (pin it with POST …/rollback)`);
  }
  const { syncId } = await deps.coordinator.trigger({
    tenant: link.tenant,
    repository: link.repository,
    repoKey: linkKeyOf(link),
    branch: link.branch,
    ...sourceOf(link),
    trigger: 'unpin',
    requestedBy: by,
  });
  return { sync_id: syncId, pinned_to: pin.commit };
}

/** How messages name the link: `link acme/acme/connectors`, `Git link acme/gitlab-main`. */
function describeLink(link: StoredLink): string {
  return isGitLink(link) ? `Git link ${link.tenant}/${link.name}` : `link ${link.tenant}/${link.repository}`;
}

function sourceOf(link: StoredLink): { source?: 'git' } {
  return isGitLink(link) ? { source: 'git' } : {};
}

/**
 * Since when the link reads its current branch and file: commits applied before read another
 * file. A GitHub link's `updated_at` changes only then; a Git link's changes with any setting
 * (credentials, polling), so it keeps `repointed_at` (links stored before it existed: `updated_at`).
 */
function repointedAtOf(link: StoredLink): string {
  return isGitLink(link) ? (link.repointed_at ?? link.updated_at) : link.updated_at;
}

/** The rollback route of the link that made `record` (a GitHub link's, or a Git link's by its clone URL). */
async function rollbackRouteOf(deps: RollbackDeps, tenant: string, record: SyncRecord): Promise<string | undefined> {
  if (record.source !== 'git') return `POST /admin/v1/tenants/${tenant}/repositories/${record.repository}/rollback`;
  const link = (await deps.links.list(tenant)).find((l) => isGitLink(l) && l.url === record.repository);
  return link !== undefined && isGitLink(link) ? `POST /admin/v1/tenants/${tenant}/git/${link.name}/rollback` : undefined;
}

/** The link's own sync records (not its pull request checks), newest first. */
async function recordsOfLink(deps: RollbackDeps, link: StoredLink): Promise<SyncRecord[]> {
  const ids = await deps.redis.zrevrange(syncKeys.linkSyncs(link.tenant, linkKeyOf(link)), 0, -1);
  const records = await Promise.all(ids.map((id) => deps.history.getIn(link.tenant, id)));
  return records.filter((r): r is SyncRecord => r !== undefined);
}

/** A succeeded sync of another link of the tenant with that commit: the operator picked the wrong link. */
async function otherLinkWith(deps: RollbackDeps, link: StoredLink, wanted: string): Promise<SyncRecord | undefined> {
  const ids = await deps.redis.zrevrange(syncKeys.tenantSyncs(link.tenant), 0, -1);
  // A Git link's records name its clone URL, a GitHub link's owner/repo: neither can be the other's.
  const own = repoKeyOf(link.repository);
  for (let i = 0; i < ids.length; i += 100) {
    const records = await Promise.all(ids.slice(i, i + 100).map((id) => deps.history.getIn(link.tenant, id)));
    const hit = records.find((r) => r !== undefined && r.state === 'succeeded' && r.sha !== null && r.sha.startsWith(wanted) && repoKeyOf(r.repository) !== own);
    if (hit !== undefined) return hit;
  }
  return undefined;
}

async function refuseWhileBusy(deps: RollbackDeps, link: StoredLink): Promise<void> {
  const state = await deps.coordinator.linkState(link.tenant, linkKeyOf(link));
  const busy = state.running ?? state.pending;
  if (busy === undefined) return;
  const record = await deps.history.getIn(link.tenant, busy);
  throw new ConflictError(
    'SYNC_IN_PROGRESS',
    `sync ${busy} of ${describeLink(link)} is ${record?.state ?? (state.running !== undefined ? 'running' : 'queued')}: roll back once it has finished (GET /admin/v1/syncs/${busy})`,
    { sync_id: busy },
  );
}

/**
 * Reads the commit's file and validates it again (the rules or the tenant's other connectors may
 * have changed since it was applied): a file that would fail is refused now, with its errors,
 * instead of failing in the background. When the source (GitHub, the Git host) cannot answer now
 * the check is left to the sync, which validates again anyway and retries like any other.
 */
async function checkCommitStillApplies(deps: RollbackDeps, link: StoredLink, commit: string): Promise<RollbackAccepted['plan']> {
  const source = deps.sources.forLink(link);
  let errors: SyncError[];
  try {
    // Asked before the file: the source step may still hold the commit's file from when it was
    // applied, and a commit the repository no longer has must not come back from that copy.
    if ((await source.compare(commit, commit)) === 'unknown') {
      throw new AppError(422, 'SHA_GONE', `commit ${commit.slice(0, 12)} is no longer in ${link.repository} (it was force-pushed away): it cannot be re-applied`);
    }
    const file = await deps.sourceStep.file(source, commit);
    const artifact = await deps.sourceStep.validate(file);
    if (artifact.ok) {
      const preview = await previewPlan(deps.registry, link.tenant, link.repository, artifact.content);
      if (preview.collisions.length === 0) return { created: preview.created, updated: preview.updated, deleted: preview.deleted };
      errors = await claimedCollisions(deps.registry, link.tenant, link.repository, claimedPermalinks(artifact.text ?? ''));
    } else {
      errors = [...artifact.errors, ...(await claimedCollisions(deps.registry, link.tenant, link.repository, artifact.claimed))];
    }
  } catch (err) {
    if (err instanceof SyncFailure) {
      throw new AppError(422, 'SHA_UNREADABLE', `the registry file ${link.path} at commit ${commit.slice(0, 12)} cannot be read: ${err.message}`);
    }
    const unavailable = err instanceof GitHubError || (err instanceof GitSourceError && err.retryable);
    if (!unavailable) throw err;
    deps.log.warn({ ...(isGitLink(link) ? { git_link: link.name } : { github: true }), repository: link.repository, err: { message: err.message } }, 'could not read the rollback commit now: its sync validates it');
    return null;
  }
  const first = errors[0];
  throw new AppError(
    422,
    'ROLLBACK_INVALID',
    `the registry file ${link.path} at commit ${commit.slice(0, 12)} no longer applies (${errors.length} error${errors.length === 1 ? '' : 's'}${first === undefined ? '' : `; line ${first.line}:${first.column}: ${first.message}`}): nothing changed`,
    errors.map((e) => ({ ...e, file: link.path })),
  );
}
