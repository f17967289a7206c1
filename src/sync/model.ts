import type { TraceCarrier } from '../observability/tracing.js';
/**
 * The sync domain's shapes: repository links, sync records (docs/admin-api.md) and job payloads.
 */

/**
 * `pull_request`: a check of a pull request's head commit — a plan, nothing applied.
 * `rollback`: re-applies the set of an earlier succeeded sync and pins the link to its commit;
 * `unpin`: applies the branch head and follows the branch again.
 */
export type SyncTrigger = 'push' | 'reconcile' | 'manual' | 'link' | 'pull_request' | 'rollback' | 'unpin';
export const SYNC_TRIGGERS: readonly SyncTrigger[] = ['push', 'reconcile', 'manual', 'link', 'pull_request', 'rollback', 'unpin'];
/** `skipped`: a push or reconciliation of a pinned link, recorded and not applied. */
export type SyncState = 'queued' | 'running' | 'succeeded' | 'failed' | 'superseded' | 'unchanged' | 'skipped';
export const SYNC_STATES: readonly SyncState[] = ['queued', 'running', 'succeeded', 'failed', 'superseded', 'unchanged', 'skipped'];
export const TERMINAL_STATES: ReadonlySet<SyncState> = new Set(['succeeded', 'failed', 'superseded', 'unchanged', 'skipped']);

export const DEFAULT_REGISTRY_PATH = 'connectors_registry.json';

/** One tenant's subscription to a repository branch (docs/design.md#repository-links). */
export interface RepositoryLink {
  tenant: string;
  /** `owner/repo` as given when linking (docs/design.md#repository-names); identity is case-insensitive, like GitHub's. */
  repository: string;
  branch: string;
  path: string;
  created_at: string;
  updated_at: string;
  /** What is live: the commit and registry blob of the last successful sync (null: nothing applied yet). */
  applied: { commit: string; blob: string | null; at: string } | null;
  /** Branch head the last completed sync looked at (the reconciler compares against it). */
  checked_head: string | null;
  /**
   * Set by a succeeded rollback: the link stays on this commit (pushes and reconciliation are
   * recorded as `skipped`) until an unpin applies the branch head again.
   */
  pin?: LinkPin | null;
}

export interface LinkPin {
  commit: string;
  /** The rollback sync that applied the commit and set the pin. */
  sync_id: string;
  /** The earlier succeeded sync whose set was re-applied. */
  restores_sync: string;
  at: string;
}

export interface SyncPlan {
  created: string[];
  updated: string[];
  deleted: string[];
}

export interface SyncError {
  /** The registry file the error is in (the link's `path`), for validation errors. */
  file?: string;
  permalink?: string;
  path: string;
  line: number;
  column: number;
  message: string;
}

/** What became of the commit status report (an extension of the sync record in docs/admin-api.md). */
export interface CommitStatusReport {
  state: 'success' | 'failure' | 'error';
  description: string;
  /** `skipped`: the host has no status API Gatehouse knows, or the link has no token (message says which). */
  result: 'pending' | 'posted' | 'not_permitted' | 'failed' | 'skipped';
  message?: string;
}

/** A sync record (docs/sync.md#outcomes-state), plus `attempts`, `last_error` and `commit_status` (documented extensions). */
export interface SyncRecord {
  id: string;
  tenant: string;
  /** `github`: `repository` is owner/repo; `git`: `repository` is the clone URL (without credentials). */
  source?: 'github' | 'git';
  repository: string;
  branch: string;
  /** The commit evaluated (the branch head when the sync ran); while queued, the pushed commit if known. */
  sha: string | null;
  trigger: SyncTrigger;
  state: SyncState;
  delivery_id?: string;
  pusher?: string;
  created_at: string;
  started_at?: string;
  finished_at: string | null;
  duration_ms: number | null;
  plan: SyncPlan;
  errors: SyncError[];
  attempts: number;
  /** Why the last attempt failed when a retry is pending. */
  last_error?: string;
  commit_status?: CommitStatusReport;
  /** Problems that do not block activation (e.g. a secret the tenant does not have), with positions. */
  warnings?: SyncError[];
  /** A pull request check (trigger `pull_request`): the pull request and its head commit; `plan` is what merging would apply. */
  pull_request?: { number: number; head_sha: string };
  /** What became of the check run on the commit (`not_permitted`: a commit status was posted instead). */
  check_run?: CheckRunReport;
  /** A `skipped` sync: the commit the link was pinned to (the pushed or reconciled commit was not applied). */
  pinned_to?: string;
  /** A `rollback` sync: the earlier succeeded sync of the link whose commit it re-applies. */
  restores_sync?: string;
  /** A `rollback` or `unpin` sync: who asked (the admin token's fingerprint, and the X-Gatehouse-Actor header). */
  requested_by?: { actor: string; actor_name?: string };
}

export interface CheckRunReport {
  conclusion: 'success' | 'failure' | 'neutral';
  result: 'pending' | 'posted' | 'not_permitted' | 'failed';
  id?: number;
  message?: string;
}

/** A commit to check: a pull request's head, or a pushed commit (identifiers only). */
export interface CheckJobData {
  repository: string;
  repoKey: string;
  /** The pull request's base branch, or the pushed branch: the links it concerns. */
  branch: string;
  headSha: string;
  /** A pull request check: a plan preview, nothing applied. */
  pullRequest?: number;
  /** A push check: the syncs the push queued (one per tenant link); the plan is what they applied. */
  syncs?: { tenant: string; syncId: string }[];
  deliveryId: string;
}

/** Job data carries identifiers only: never file content, tokens or secrets. */
export interface SyncJobData {
  tenant: string;
  /** Lower-cased `owner/repo`: the link's identity. */
  repoKey: string;
  syncId: string;
  /** The W3C trace context of what queued the job (a traced webhook delivery), when tracing is on. */
  trace?: TraceCarrier;
}

export interface StatusJobData {
  tenant: string;
  repoKey: string;
  syncId: string;
}

export const emptyPlan = (): SyncPlan => ({ created: [], updated: [], deleted: [] });

export function repoKeyOf(repository: string): string {
  return repository.toLowerCase();
}
