import type { RedisClient } from '../redis/connection.js';
import { syncKeys } from './keys.js';
import { repoKeyOf, type LinkPin, type RepositoryLink } from './model.js';

/**
 * Repository links (docs/design.md#repository-links). The truth is the tenant's `links` hash; `gh:repo-links:<repo>`
 * (tenant → branch/path) lets a webhook find every tenant link of a repository in one read, and
 * `gh:linked-repos` lets the reconciler walk them.
 */

export interface StoredLink extends RepositoryLink {
  /** Bumped when branch or path change: a sync started before must not record its result as applied. */
  generation: number;
}

export interface RepoLinkEntry {
  tenant: string;
  repository: string;
  branch: string;
  path: string;
}

// KEYS: links hash. ARGV: repoKey, repository, branch, path, now
const PUT_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur then
  local l = cjson.decode(cur)
  if l.branch == ARGV[3] and l.path == ARGV[4] then return {'unchanged', cur} end
  l.branch = ARGV[3]
  l.path = ARGV[4]
  l.updated_at = ARGV[5]
  l.generation = (tonumber(l.generation) or 0) + 1
  -- Another branch or file: whatever was applied no longer describes what the link points at.
  l.applied = cjson.null
  l.checked_head = cjson.null
  -- A pin names a commit of the old branch or file.
  l.pin = cjson.null
  local text = cjson.encode(l)
  redis.call('HSET', KEYS[1], ARGV[1], text)
  return {'changed', text}
end
local l = {tenant = '', repository = ARGV[2], branch = ARGV[3], path = ARGV[4], created_at = ARGV[5], updated_at = ARGV[5], applied = cjson.null, checked_head = cjson.null, generation = 1}
local text = cjson.encode(l)
redis.call('HSET', KEYS[1], ARGV[1], text)
return {'created', text}
`;

// KEYS: links hash. ARGV: repoKey, generation, applied JSON ('' keeps it), checked_head ('' keeps it), pin JSON ('' keeps it, 'null' clears it)
const RECORD_LUA = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
if not cur then return 0 end
local l = cjson.decode(cur)
if tonumber(l.generation) ~= tonumber(ARGV[2]) then return 0 end
if ARGV[3] ~= '' then l.applied = cjson.decode(ARGV[3]) end
if ARGV[4] ~= '' then l.checked_head = ARGV[4] end
if ARGV[5] ~= '' then l.pin = cjson.decode(ARGV[5]) end
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(l))
return 1
`;

/** The link's field in the tenant's `links` hash: `owner/repo` lower-cased, or `git:<name>` for a Git link. */
export function linkKeyOf(link: StoredLink): string {
  const git = link as StoredLink & { source?: string; name?: string };
  return git.source === 'git' && git.name !== undefined ? `git:${git.name}` : repoKeyOf(link.repository);
}

function parse(tenant: string, text: string): StoredLink {
  const l = JSON.parse(text) as StoredLink;
  return { ...l, tenant, applied: l.applied ?? null, checked_head: l.checked_head ?? null, pin: l.pin ?? null, generation: Number(l.generation ?? 1) };
}

export class LinkStore {
  constructor(private readonly redis: RedisClient) {}

  async get(tenant: string, repository: string): Promise<StoredLink | undefined> {
    const text = await this.redis.hget(syncKeys.links(tenant), repoKeyOf(repository));
    return text === null ? undefined : parse(tenant, text);
  }

  async list(tenant: string): Promise<StoredLink[]> {
    const all = await this.redis.hgetall(syncKeys.links(tenant));
    return Object.keys(all)
      .sort()
      .map((k) => parse(tenant, all[k]!));
  }

  /** Creates or re-points a link. `status`: created (201), changed or unchanged (200). */
  async put(tenant: string, repository: string, branch: string, path: string): Promise<{ status: 'created' | 'changed' | 'unchanged'; link: StoredLink }> {
    const repoKey = repoKeyOf(repository);
    const [status, text] = (await this.redis.eval(PUT_LUA, 1, syncKeys.links(tenant), repoKey, repository, branch, path, new Date().toISOString())) as [
      'created' | 'changed' | 'unchanged',
      string,
    ];
    const link = parse(tenant, text);
    const entry: RepoLinkEntry = { tenant, repository: link.repository, branch, path };
    await Promise.all([this.redis.hset(syncKeys.repoLinks(repoKey), tenant, JSON.stringify(entry)), this.redis.sadd(syncKeys.linkedRepos, repoKey)]);
    return { status, link };
  }

  /** Forgets the link (its connectors are removed by the caller). Returns whether it existed. */
  async remove(tenant: string, repository: string): Promise<boolean> {
    const repoKey = repoKeyOf(repository);
    const removed = await this.redis.hdel(syncKeys.links(tenant), repoKey);
    await this.redis.hdel(syncKeys.repoLinks(repoKey), tenant);
    if ((await this.redis.hlen(syncKeys.repoLinks(repoKey))) === 0) await this.redis.srem(syncKeys.linkedRepos, repoKey);
    return removed === 1;
  }

  /** Every tenant link of a repository (one read: the webhook's hot path). */
  async linksOfRepository(repository: string): Promise<RepoLinkEntry[]> {
    const all = await this.redis.hgetall(syncKeys.repoLinks(repoKeyOf(repository)));
    return Object.values(all).map((t) => JSON.parse(t) as RepoLinkEntry);
  }

  async linkedRepositories(): Promise<string[]> {
    return this.redis.smembers(syncKeys.linkedRepos);
  }

  /**
   * Records the outcome of a sync on the link, unless the link was re-pointed (generation changed)
   * or removed meanwhile. `applied: undefined` keeps the applied state; `pin: undefined` keeps the
   * pin, `null` clears it.
   */
  async recordResult(link: StoredLink, result: { applied?: RepositoryLink['applied']; checkedHead?: string; pin?: LinkPin | null }): Promise<boolean> {
    const ok = await this.redis.eval(
      RECORD_LUA,
      1,
      syncKeys.links(link.tenant),
      linkKeyOf(link),
      link.generation,
      result.applied === undefined ? '' : JSON.stringify(result.applied),
      result.checkedHead ?? '',
      result.pin === undefined ? '' : JSON.stringify(result.pin),
    );
    return ok === 1;
  }
}
