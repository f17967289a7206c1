import { randomBytes } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';
import { syncKeys } from './keys.js';
import { emptyPlan, repoKeyOf, SYNC_STATES, type SyncRecord, type SyncState } from './model.js';

/**
 * Sync history (docs/admin-api.md, docs/design.md#sync-history-and-commit-status): one Redis hash per record under the tenant's hash tag,
 * indexed per tenant, per link (the last 100 are kept), per repository and globally, newest first.
 */

export const KEEP_PER_LINK = 100;
export const MAX_QUERY_LIMIT = 500;

/** Sortable, unique, safe as a BullMQ job id (no ":" and never an integer). */
export function newSyncId(now = Date.now()): string {
  return `sy_${now.toString(36).padStart(9, '0')}${randomBytes(6).toString('hex')}`;
}

export function recordToHash(r: SyncRecord): Record<string, string> {
  const h: Record<string, string> = {
    id: r.id,
    tenant: r.tenant,
    repository: r.repository,
    branch: r.branch,
    sha: r.sha ?? '',
    trigger: r.trigger,
    state: r.state,
    created_at: r.created_at,
    finished_at: r.finished_at ?? '',
    duration_ms: r.duration_ms === null ? '' : String(r.duration_ms),
    plan: JSON.stringify(r.plan),
    errors: JSON.stringify(r.errors),
    attempts: String(r.attempts),
  };
  if (r.source !== undefined) h.source = r.source;
  if (r.delivery_id !== undefined) h.delivery_id = r.delivery_id;
  if (r.pusher !== undefined) h.pusher = r.pusher;
  if (r.started_at !== undefined) h.started_at = r.started_at;
  if (r.last_error !== undefined) h.last_error = r.last_error;
  if (r.commit_status !== undefined) h.commit_status = JSON.stringify(r.commit_status);
  if (r.warnings !== undefined) h.warnings = JSON.stringify(r.warnings);
  if (r.pull_request !== undefined) h.pull_request = JSON.stringify(r.pull_request);
  if (r.check_run !== undefined) h.check_run = JSON.stringify(r.check_run);
  if (r.pinned_to !== undefined) h.pinned_to = r.pinned_to;
  if (r.restores_sync !== undefined) h.restores_sync = r.restores_sync;
  if (r.requested_by !== undefined) h.requested_by = JSON.stringify(r.requested_by);
  return h;
}

export function recordFromHash(h: Record<string, string>): SyncRecord | undefined {
  if (h.id === undefined || h.state === undefined) return undefined;
  const r: SyncRecord = {
    id: h.id,
    tenant: h.tenant ?? '',
    repository: h.repository ?? '',
    branch: h.branch ?? '',
    sha: h.sha === undefined || h.sha === '' ? null : h.sha,
    trigger: h.trigger as SyncRecord['trigger'],
    state: h.state as SyncState,
    created_at: h.created_at ?? '',
    finished_at: h.finished_at === undefined || h.finished_at === '' ? null : h.finished_at,
    duration_ms: h.duration_ms === undefined || h.duration_ms === '' ? null : Number(h.duration_ms),
    plan: h.plan === undefined ? emptyPlan() : (JSON.parse(h.plan) as SyncRecord['plan']),
    errors: h.errors === undefined ? [] : (JSON.parse(h.errors) as SyncRecord['errors']),
    attempts: Number(h.attempts ?? '0'),
  };
  if (h.source === 'git') r.source = 'git';
  if (h.delivery_id !== undefined) r.delivery_id = h.delivery_id;
  if (h.pusher !== undefined) r.pusher = h.pusher;
  if (h.started_at !== undefined) r.started_at = h.started_at;
  if (h.last_error !== undefined && h.last_error !== '') r.last_error = h.last_error;
  if (h.commit_status !== undefined) r.commit_status = JSON.parse(h.commit_status) as SyncRecord['commit_status'];
  if (h.warnings !== undefined) r.warnings = JSON.parse(h.warnings) as SyncRecord['warnings'];
  if (h.pull_request !== undefined) r.pull_request = JSON.parse(h.pull_request) as SyncRecord['pull_request'];
  if (h.check_run !== undefined) r.check_run = JSON.parse(h.check_run) as SyncRecord['check_run'];
  if (h.pinned_to !== undefined && h.pinned_to !== '') r.pinned_to = h.pinned_to;
  if (h.restores_sync !== undefined && h.restores_sync !== '') r.restores_sync = h.restores_sync;
  if (h.requested_by !== undefined && h.requested_by !== '') r.requested_by = JSON.parse(h.requested_by) as SyncRecord['requested_by'];
  return r;
}

export interface SyncQuery {
  tenant?: string;
  repository?: string;
  state?: SyncState;
  limit: number;
}

export class SyncHistory {
  constructor(private readonly redis: RedisClient) {}

  async get(id: string): Promise<SyncRecord | undefined> {
    const tenant = await this.redis.hget(syncKeys.syncTenant, id);
    if (tenant === null) return undefined;
    return this.getIn(tenant, id);
  }

  async getIn(tenant: string, id: string): Promise<SyncRecord | undefined> {
    return recordFromHash(await this.redis.hgetall(syncKeys.record(tenant, id)));
  }

  /** Writes some fields of an existing record (never creates one: the coordinator does). */
  async update(tenant: string, id: string, fields: Partial<SyncRecord>): Promise<void> {
    const base = recordToHash({
      id, tenant, repository: '', branch: '', sha: null, trigger: 'manual', state: 'queued', created_at: '',
      finished_at: null, duration_ms: null, plan: emptyPlan(), errors: [], attempts: 0, ...fields,
    });
    const out: Record<string, string> = {};
    for (const k of Object.keys(fields)) {
      const v = base[k];
      if (v !== undefined) out[k] = v;
    }
    if (Object.keys(out).length === 0) return;
    const key = syncKeys.record(tenant, id);
    // Only touch a record that exists: a trimmed record must not come back as a fragment.
    await this.redis.eval(
      "if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], unpack(ARGV)) return 1 end return 0",
      1,
      key,
      ...Object.entries(out).flat(),
    );
  }

  /** Adds a new record to the cross-tenant indexes (single-key commands: they live in other slots). */
  async indexGlobally(tenant: string, repoKey: string, id: string, createdMs: number): Promise<void> {
    const member = `${tenant} ${id}`;
    await Promise.all([
      this.redis.zadd(syncKeys.allSyncs, createdMs, member),
      this.redis.zadd(syncKeys.repoSyncs(repoKey), createdMs, member),
      this.redis.hset(syncKeys.syncTenant, id, tenant),
    ]);
  }

  /**
   * Stores a finished pull request check of a link. It is listed with the tenant's syncs but kept
   * apart from the link's own syncs (it applied nothing): the newest KEEP_PER_LINK are kept.
   */
  async addCheck(record: SyncRecord): Promise<void> {
    const repoKey = record.repository.toLowerCase();
    const created = Date.parse(record.created_at);
    await this.redis.multi()
      .hset(syncKeys.record(record.tenant, record.id), recordToHash(record))
      .zadd(syncKeys.tenantSyncs(record.tenant), created, record.id)
      .zadd(syncKeys.linkChecks(record.tenant, repoKey), created, record.id)
      .exec();
    await this.indexGlobally(record.tenant, repoKey, record.id, created);
    const checksKey = syncKeys.linkChecks(record.tenant, repoKey);
    const excess = (await this.redis.zcard(checksKey)) - KEEP_PER_LINK;
    if (excess > 0) {
      const old = await this.redis.zrange(checksKey, 0, excess - 1);
      await this.redis.zrem(checksKey, ...old);
      await this.forget(record.tenant, repoKey, old);
    }
  }

  /** Keeps the newest KEEP_PER_LINK records of a link; older ones leave every index. */
  async trim(tenant: string, repoKey: string): Promise<void> {
    const linkKey = syncKeys.linkSyncs(tenant, repoKey);
    const excess = (await this.redis.zcard(linkKey)) - KEEP_PER_LINK;
    if (excess <= 0) return;
    const old = await this.redis.zrange(linkKey, 0, excess - 1);
    await this.forget(tenant, repoKey, old);
  }

  /** Drops all records of a link (unlink), its pull request checks included. */
  async removeLink(tenant: string, repoKey: string): Promise<void> {
    const ids = await this.redis.zrange(syncKeys.linkSyncs(tenant, repoKey), 0, -1);
    await this.forget(tenant, repoKey, ids);
    const checks = await this.redis.zrange(syncKeys.linkChecks(tenant, repoKey), 0, -1);
    await this.forget(tenant, repoKey, checks);
    await this.redis.del(syncKeys.linkChecks(tenant, repoKey));
  }

  private async forget(tenant: string, repoKey: string, ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    const tx = this.redis.multi();
    tx.zrem(syncKeys.linkSyncs(tenant, repoKey), ...ids);
    tx.zrem(syncKeys.tenantSyncs(tenant), ...ids);
    for (const id of ids) tx.del(syncKeys.record(tenant, id));
    await tx.exec();
    const members = ids.map((id) => `${tenant} ${id}`);
    await Promise.all([
      this.redis.zrem(syncKeys.allSyncs, ...members),
      this.redis.zrem(syncKeys.repoSyncs(repoKey), ...members),
      this.redis.hdel(syncKeys.syncTenant, ...ids),
    ]);
  }

  /** Newest first (docs/design.md#lists), filtered by tenant, repository and state. */
  async query(q: SyncQuery): Promise<SyncRecord[]> {
    const limit = Math.max(1, Math.min(q.limit, MAX_QUERY_LIMIT));
    const repoKey = q.repository === undefined ? undefined : repoKeyOf(q.repository);
    // A Git link's URL has no per-repository index (its records are indexed under the link's
    // key): its records are found through the tenant's or the global index and the filter below.
    const repoIndexed = repoKey !== undefined && !repoKey.includes('://');
    // Pick the narrowest index; the remaining filters are applied while paging.
    const index: { key: string; tenantOf: (member: string) => [string, string] } =
      q.tenant !== undefined && repoIndexed ? { key: syncKeys.linkSyncs(q.tenant, repoKey), tenantOf: (m) => [q.tenant!, m] }
      : q.tenant !== undefined ? { key: syncKeys.tenantSyncs(q.tenant), tenantOf: (m) => [q.tenant!, m] }
      : repoIndexed ? { key: syncKeys.repoSyncs(repoKey), tenantOf: splitMember }
      : { key: syncKeys.allSyncs, tenantOf: splitMember };
    const out: SyncRecord[] = [];
    const page = Math.max(limit, 100);
    for (let start = 0; out.length < limit; start += page) {
      const members = await this.redis.zrevrange(index.key, start, start + page - 1);
      if (members.length === 0) break;
      const records = await Promise.all(members.map((m) => {
        const [tenant, id] = index.tenantOf(m);
        return this.getIn(tenant, id);
      }));
      for (const r of records) {
        if (r === undefined) continue;
        if (q.state !== undefined && r.state !== q.state) continue;
        if (repoKey !== undefined && repoKeyOf(r.repository) !== repoKey) continue;
        out.push(r);
        if (out.length >= limit) break;
      }
      if (members.length < page) break;
    }
    return out;
  }
}

function splitMember(member: string): [string, string] {
  const i = member.indexOf(' ');
  return [member.slice(0, i), member.slice(i + 1)];
}

export function isSyncState(s: string): s is SyncState {
  return (SYNC_STATES as readonly string[]).includes(s);
}
