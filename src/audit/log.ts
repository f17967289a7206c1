import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import { DEFAULT_AUDIT_MAX_ENTRIES, type AuditEntry, type NewAuditEntry } from './model.js';

/**
 * The audit log: one capped Redis stream per tenant (the oldest entries go once a tenant has
 * `maxEntries`), in the tenant's hash-tag slot, plus an index of the tenants that have one so a
 * query without a tenant can read them all. A tenant's stream outlives the tenant: its deletion is
 * itself an entry worth keeping.
 */

const tag = (tenant: string) => `gh:{t:${tenant}}`;

export const auditKeys = {
  /** STREAM: field `e` = the entry JSON without `id`. */
  stream: (tenant: string) => `${tag(tenant)}:audit`,
  /** SET: tenants with an audit stream. */
  tenants: 'gh:audit:tenants',
} as const;

export interface AuditQuery {
  tenant?: string;
  /** Entries at or after this instant (ms since the epoch). */
  sinceMs?: number;
  /** Entries strictly older than this stream id (paging: the last id of the previous page). */
  before?: string;
  /** Only actions starting with this text (`secret.`, `sync.failed`). */
  action?: string;
  /** Only entries whose `actor` (a token fingerprint, `sync`) or `actor_name` is exactly this. */
  actor?: string;
  limit: number;
}

/** Entries read per stream round trip while filtering by action. */
const PAGE = 500;

export class AuditLog {
  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
    readonly maxEntries = DEFAULT_AUDIT_MAX_ENTRIES,
  ) {}

  /**
   * Appends one entry. Never throws: an audit write that fails (Redis trouble) is logged and the
   * operation it describes, already done, stands.
   */
  async record(entry: NewAuditEntry): Promise<void> {
    const at = new Date().toISOString();
    const { tenant, ...rest } = entry;
    try {
      await this.redis.xadd(auditKeys.stream(tenant), 'MAXLEN', String(this.maxEntries), '*', 'e', JSON.stringify({ tenant, at, ...rest }));
      await this.redis.sadd(auditKeys.tenants, tenant);
    } catch (err) {
      this.log.warn({ err: { message: (err as Error).message }, tenant, action: entry.action }, 'audit entry could not be written');
    }
  }

  /** Newest first, at most `limit`. */
  async query(q: AuditQuery): Promise<AuditEntry[]> {
    const tenants = q.tenant !== undefined ? [q.tenant] : await this.redis.smembers(auditKeys.tenants);
    const perTenant = await Promise.all(tenants.map((t) => this.readTenant(t, q)));
    return perTenant
      .flat()
      .sort((a, b) => compareIds(b.id, a.id))
      .slice(0, q.limit);
  }

  private async readTenant(tenant: string, q: AuditQuery): Promise<AuditEntry[]> {
    const key = auditKeys.stream(tenant);
    const start = q.sinceMs !== undefined ? String(q.sinceMs) : '-';
    let end = q.before !== undefined ? `(${q.before}` : '+';
    const out: AuditEntry[] = [];
    const filtered = q.action !== undefined || q.actor !== undefined;
    const count = filtered ? Math.max(q.limit, PAGE) : q.limit;
    for (;;) {
      const rows = await this.redis.xrevrange(key, end, start, 'COUNT', count);
      for (const [id, fields] of rows) {
        const entry = parseEntry(id, fields);
        if (entry === undefined) continue;
        if (q.action !== undefined && !entry.action.startsWith(q.action)) continue;
        if (q.actor !== undefined && entry.actor !== q.actor && entry.actor_name !== q.actor) continue;
        out.push(entry);
        if (out.length >= q.limit) return out;
      }
      if (rows.length < count) return out;
      end = `(${rows[rows.length - 1]![0]}`;
    }
  }
}

function parseEntry(id: string, fields: string[]): AuditEntry | undefined {
  const i = fields.indexOf('e');
  if (i < 0 || i + 1 >= fields.length) return undefined;
  try {
    return { id, ...(JSON.parse(fields[i + 1]!) as Omit<AuditEntry, 'id'>) };
  } catch {
    return undefined;
  }
}

/** Stream ids compare as (ms, seq) numbers, not as text. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am !== bm ? am - bm : as - bs;
}
