/**
 * Redis keys of the sync domain. Per-tenant keys carry the tenant hash tag `{t:<tenant>}` (the
 * same slot as the tenant's registry keys) so the multi-key scripts below run on one Redis Cluster
 * slot. Cross-tenant indexes (by repository, global history, webhook de-duplication) are written
 * with single-key commands only.
 */

const tag = (tenant: string) => `gh:{t:${tenant}}`;

export const syncKeys = {
  /** HASH: repoKey → RepositoryLink JSON. */
  links: (tenant: string) => `${tag(tenant)}:links`,
  /** HASH: `pending` (queued sync id not yet started), `running` (sync id in progress). */
  linkState: (tenant: string, repoKey: string) => `${tag(tenant)}:linksync:${repoKey}`,
  /** HASH: one sync record (fields hold strings; plan/errors/commit_status hold JSON). */
  record: (tenant: string, id: string) => `${tag(tenant)}:sync:${id}`,
  /** ZSET: the tenant's sync ids scored by creation time (ms). */
  tenantSyncs: (tenant: string) => `${tag(tenant)}:syncs`,
  /** ZSET: one link's sync ids (the last 100 are kept, docs/design.md#sync-history-and-commit-status). */
  /** ZSET: one link's pull request check records (kept apart from its syncs; the last 100 are kept). */
  linkChecks: (tenant: string, repoKey: string) => `${tag(tenant)}:checks:${repoKey}`,
  linkSyncs: (tenant: string, repoKey: string) => `${tag(tenant)}:syncs:${repoKey}`,

  /** HASH: tenant → `{branch, path, repository}` JSON: who links this repository (webhook fan-out). */
  repoLinks: (repoKey: string) => `gh:repo-links:${repoKey}`,
  /** SET: every repoKey linked by some tenant (the reconciler walks it). */
  linkedRepos: 'gh:linked-repos',
  /** ZSET: `<tenant> <id>` scored by creation time: the global history. */
  allSyncs: 'gh:syncs',
  /** ZSET: `<tenant> <id>` for one repository across tenants (`?repository=`). */
  repoSyncs: (repoKey: string) => `gh:syncs:repo:${repoKey}`,
  /** HASH: sync id → tenant (`GET /syncs/{id}`). */
  syncTenant: 'gh:sync-tenant',
  /** STRING with TTL: a webhook delivery id already accepted. */
  delivery: (deliveryId: string) => `gh:webhook:delivery:${deliveryId}`,
  /** HASH: `etag`, `sha` of the last branch-head answer (conditional requests by the reconciler). */
  headEtag: (repoKey: string, branch: string) => `gh:github:head:${repoKey}:${branch}`,
  /** HASH: `<tenant> <name>` → branch: the Git links whose URL has this match key (src/sync/git-links.ts). */
  gitLinksByUrl: (matchKey: string) => `gh:git-links:${matchKey}`,
  /** ZSET: `<tenant> <name>` of polled Git links, scored by the next poll time (epoch ms). */
  gitPoll: 'gh:git-poll',
  /** STRING with PX: epoch ms until which GitHub asked us to stop calling (rate limit). */
  githubBlockedUntil: 'gh:github:blocked-until',
} as const;

/** BullMQ's prefix: one hash tag, so every key of every queue lives in one Redis Cluster slot. */
export const QUEUE_PREFIX = 'gh:{bull}';
