/**
 * The audit log's shapes (docs/audit.md). An entry says who did what to which object of a tenant,
 * when, and how it ended. It holds names, identifiers, revisions and counts only: never a secret
 * or variable value, a request body, or a session secret.
 */

export interface AuditEntry {
  /** The Redis stream id (`<ms>-<seq>`): unique per tenant, ordered by time; `before=` pages with it. */
  id: string;
  tenant: string;
  at: string;
  /**
   * Who: the admin token's fingerprint (`tok:` + 12 hex digits) for operator writes, `sync` for
   * sync outcomes.
   */
  actor: string;
  /** What the caller says about itself: the `X-Gatehouse-Actor` header, or a push's pusher. */
  actor_name?: string;
  /** What happened, `<object>.<verb>`: `secret.put`, `connector.put`, `repository.link`, `sync.failed` … */
  action: string;
  /** Which object: `name`, `permalink`, `repository` … (never a value). */
  target: Record<string, string>;
  /** The HTTP status an admin write was answered with. */
  status?: number;
  /** Action-specific facts: old and new revision, sync id, commit, plan … */
  details?: Record<string, unknown>;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'at'>;

export const DEFAULT_AUDIT_MAX_ENTRIES = 10_000;

/** The actor of entries written by the sync workers rather than by an operator. */
export const SYNC_ACTOR = 'sync';

/** Longest `X-Gatehouse-Actor` kept; control characters are dropped. */
export const MAX_ACTOR_NAME = 200;

export function cleanActorName(raw: string | string[] | undefined): string | undefined {
  const value = Array.isArray(raw) ? raw[0] : raw;
  if (value === undefined) return undefined;
  const clean = value.replace(/[\x00-\x1f\x7f]/g, '').trim().slice(0, MAX_ACTOR_NAME);
  return clean === '' ? undefined : clean;
}
