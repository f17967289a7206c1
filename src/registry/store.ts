import { createHash } from 'node:crypto';
import { AppError, ConflictError, NotFoundError } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import type { ChangeFeed } from '../tenants/changes.js';
import { CHANGES_CHANNEL, defineScript, execReply, stateKeys, type ScriptRunner } from './keys.js';
import type { CompositeDefinition, ConnectorDefinition, ConnectorKind, ConnectorSource, StoredConnector } from './model.js';

/**
 * The connector registry in Redis. Per tenant two hashes keyed by permalink: `cmeta` (owner,
 * revision, timestamps as one line record a Lua script can read without JSON) and `cdefs` (the
 * normalised definition JSON). Every mutation is one Lua script, so it is atomic: a reader (which
 * reads both hashes in one MULTI) sees the state before or after it, never a part. Every mutation
 * bumps the tenant's revision counter and publishes `<tenant> <revision>` on `gh:changes`.
 *
 * Meta record lines: source, repository ('' for manual), revision, kind, created_at, updated_at, commit_sha.
 */

export interface LinkContent {
  connectors: ConnectorDefinition[];
  composites: CompositeDefinition[];
  commitSha: string;
}

export interface LinkPlan {
  created: string[];
  updated: string[];
  deleted: string[];
}

export interface CollisionInfo {
  permalink: string;
  /** Who owns it now: a manual connector or another repository link of the tenant. */
  owner: { source: 'manual' } | { source: 'repository'; repository: string };
}

/** docs/design.md#collisions: the replacement would take a permalink owned by a manual connector or another link. */
export class RegistryCollisionError extends Error {
  readonly permalinks: string[];
  constructor(readonly collisions: CollisionInfo[]) {
    super(
      `permalink collision: ${collisions
        .map((c) => `"${c.permalink}" already exists as ${c.owner.source === 'manual' ? 'a manual connector' : `a connector of repository ${c.owner.repository}`}`)
        .join('; ')}`,
    );
    this.name = 'RegistryCollisionError';
    this.permalinks = collisions.map((c) => c.permalink);
  }
}

export class ConnectorNotFoundError extends NotFoundError {
  constructor(tenant: string, permalink: string) {
    super('CONNECTOR_NOT_FOUND', `tenant "${tenant}" has no connector "${permalink}"`);
  }
}

export class ReadOnlyConnectorError extends ConflictError {
  constructor(permalink: string, repository: string) {
    super('READ_ONLY_CONNECTOR', `connector "${permalink}" is managed by repository ${repository}: change it there (or unlink the repository)`, {
      permalink,
      repository,
    });
  }
}

export class PermalinkTakenError extends ConflictError {
  constructor(permalink: string, owner: CollisionInfo['owner']) {
    super(
      'PERMALINK_TAKEN',
      `permalink "${permalink}" is already used by ${owner.source === 'manual' ? 'a manual connector' : `a connector of repository ${owner.repository}`}`,
      { permalink, source: owner.source, ...(owner.source === 'repository' ? { repository: owner.repository } : {}) },
    );
  }
}

/** JSON with object keys sorted at every level: equal definitions give equal text and revision. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/** SHA-256 (hex) of the canonical definition JSON (the `revision` of StoredConnector). */
export function definitionRevision(definition: ConnectorDefinition | CompositeDefinition): string {
  return createHash('sha256').update(canonicalJson(definition)).digest('hex');
}

export const REPOSITORY_PATTERN = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
/** A Git link's connectors are owned by its clone URL (src/sync/git-links.ts). */
const GIT_URL_OWNER = /^https?:\/\/[^\s]+$/;

const LUA_SPLIT = `
local function split(s)
  local t = {}
  for part in string.gmatch(s .. '\\n', '([^\\n]*)\\n') do t[#t + 1] = part end
  return t
end
local function record(f) return table.concat(f, '\\n') end
`;

// KEYS: meta, defs, rev. ARGV: repository, now, commit_sha, tenant, channel, n, then n × (permalink, kind, revision, json)
const REPLACE_LINK_LUA = `${LUA_SPLIT}
local repo, now, sha, n = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[6])
local incoming = {}
local collisions = {}
for i = 0, n - 1 do
  local p = ARGV[7 + i * 4]
  incoming[p] = true
  local m = redis.call('HGET', KEYS[1], p)
  if m then
    local f = split(m)
    if not (f[1] == 'repository' and f[2] == repo) then
      collisions[#collisions + 1] = p
      collisions[#collisions + 1] = f[1]
      collisions[#collisions + 1] = f[2]
    end
  end
end
if #collisions > 0 then return {'collision', collisions} end
local created, updated, deleted = {}, {}, {}
local touched = false
for i = 0, n - 1 do
  local b = 7 + i * 4
  local p, kind, rev, def = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local m = redis.call('HGET', KEYS[1], p)
  if not m then
    created[#created + 1] = p
    redis.call('HSET', KEYS[1], p, record({'repository', repo, rev, kind, now, now, sha}))
    redis.call('HSET', KEYS[2], p, def)
    touched = true
  else
    local f = split(m)
    if f[3] ~= rev then
      updated[#updated + 1] = p
      redis.call('HSET', KEYS[1], p, record({'repository', repo, rev, kind, f[5], now, sha}))
      redis.call('HSET', KEYS[2], p, def)
      touched = true
    elseif f[7] ~= sha then
      redis.call('HSET', KEYS[1], p, record({'repository', repo, rev, kind, f[5], f[6], sha}))
      touched = true
    end
  end
end
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local p = all[i]
  if not incoming[p] then
    local f = split(all[i + 1])
    if f[1] == 'repository' and f[2] == repo then
      deleted[#deleted + 1] = p
      redis.call('HDEL', KEYS[1], p)
      redis.call('HDEL', KEYS[2], p)
      touched = true
    end
  end
end
local r = tonumber(redis.call('GET', KEYS[3]) or '0')
if touched then
  r = redis.call('INCR', KEYS[3])
  redis.call('PUBLISH', ARGV[5], ARGV[4] .. ' ' .. r)
end
return {'ok', created, updated, deleted, r}
`;

// KEYS: meta, defs, rev. ARGV: permalink, kind, revision, json, now, tenant, channel, mode (create|upsert|update)
const WRITE_MANUAL_LUA = `${LUA_SPLIT}
local p, kind, rev, def, now, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[8]
local m = redis.call('HGET', KEYS[1], p)
local meta
local status
if m then
  local f = split(m)
  if mode == 'create' then return {'taken', f[1], f[2]} end
  if f[1] ~= 'manual' then return {'readonly', f[1], f[2]} end
  if f[3] == rev then return {'unchanged', m, 0} end
  meta = record({'manual', '', rev, kind, f[5], now, ''})
  status = 'updated'
else
  if mode == 'update' then return {'missing', '', ''} end
  meta = record({'manual', '', rev, kind, now, now, ''})
  status = 'created'
end
redis.call('HSET', KEYS[1], p, meta)
redis.call('HSET', KEYS[2], p, def)
local r = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[7], ARGV[6] .. ' ' .. r)
return {status, meta, r}
`;

// KEYS: meta, defs, rev. ARGV: permalink, tenant, channel
const DELETE_MANUAL_LUA = `${LUA_SPLIT}
local m = redis.call('HGET', KEYS[1], ARGV[1])
if not m then return {'missing', ''} end
local f = split(m)
if f[1] ~= 'manual' then return {'readonly', f[2]} end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
local r = redis.call('INCR', KEYS[3])
redis.call('PUBLISH', ARGV[3], ARGV[2] .. ' ' .. r)
return {'deleted', '', r}
`;

interface Meta {
  source: ConnectorSource;
  repository: string;
  revision: string;
  kind: ConnectorKind;
  created_at: string;
  updated_at: string;
  commit_sha: string;
}

function parseMeta(line: string): Meta {
  const [source, repository, revision, kind, created_at, updated_at, commit_sha] = line.split('\n');
  return {
    source: source as ConnectorSource,
    repository: repository ?? '',
    revision: revision ?? '',
    kind: kind as ConnectorKind,
    created_at: created_at ?? '',
    updated_at: updated_at ?? '',
    commit_sha: commit_sha ?? '',
  };
}

export function linkId(tenant: string, repository: string): string {
  return `${tenant}:${repository}`;
}

function toStored(tenant: string, meta: Meta, defJson: string): StoredConnector {
  const stored: StoredConnector = {
    tenant,
    kind: meta.kind,
    definition: JSON.parse(defJson) as ConnectorDefinition | CompositeDefinition,
    source: meta.source,
    revision: meta.revision,
    created_at: meta.created_at,
    updated_at: meta.updated_at,
  };
  if (meta.source === 'repository') {
    stored.repository = meta.repository;
    stored.link = linkId(tenant, meta.repository);
    if (meta.commit_sha !== '') stored.commit_sha = meta.commit_sha;
  }
  return stored;
}

function ownerOf(source: string, repository: string): CollisionInfo['owner'] {
  return source === 'manual' ? { source: 'manual' } : { source: 'repository', repository };
}

export class RegistryStore {
  private readonly replaceScript: ScriptRunner;
  private readonly writeManualScript: ScriptRunner;
  private readonly deleteManualScript: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    /** Other per-process caches (the registry view) listen here. */
    readonly changes: ChangeFeed,
  ) {
    this.replaceScript = defineScript(redis, 'ghRegistryReplaceLink', 3, REPLACE_LINK_LUA);
    this.writeManualScript = defineScript(redis, 'ghRegistryWriteManual', 3, WRITE_MANUAL_LUA);
    this.deleteManualScript = defineScript(redis, 'ghRegistryDeleteManual', 3, DELETE_MANUAL_LUA);
  }

  /** Every connector of the tenant (both kinds), by permalink; one consistent snapshot. */
  async list(tenant: string): Promise<StoredConnector[]> {
    const replies = await this.redis.multi().hgetall(stateKeys.connectorMeta(tenant)).hgetall(stateKeys.connectorDefs(tenant)).exec();
    const metas = execReply<Record<string, string>>(replies, 0);
    const defs = execReply<Record<string, string>>(replies, 1);
    return Object.keys(metas)
      .sort()
      .filter((p) => defs[p] !== undefined)
      .map((p) => toStored(tenant, parseMeta(metas[p]!), defs[p]!));
  }

  async get(tenant: string, permalink: string): Promise<StoredConnector | undefined> {
    return (await this.load(tenant, permalink)).stored;
  }

  /** One connector plus the tenant's revision counter, read atomically (for per-process views). */
  async load(tenant: string, permalink: string): Promise<{ stored: StoredConnector | undefined; revision: number }> {
    const replies = await this.redis
      .multi()
      .hget(stateKeys.connectorMeta(tenant), permalink)
      .hget(stateKeys.connectorDefs(tenant), permalink)
      .get(stateKeys.revision(tenant))
      .exec();
    const meta = execReply<string | null>(replies, 0);
    const def = execReply<string | null>(replies, 1);
    const revision = Number(execReply<string | null>(replies, 2) ?? 0);
    return { stored: meta === null || def === null ? undefined : toStored(tenant, parseMeta(meta), def), revision };
  }

  /** Creates a manual connector; 409 PERMALINK_TAKEN when the permalink exists (any source). */
  async createManual(tenant: string, definition: ConnectorDefinition): Promise<StoredConnector> {
    return (await this.writeManual(tenant, definition.permalink, 'connector', definition, 'create')).stored;
  }

  /**
   * Replaces a manual connector. `upsert` creates it when missing (PUT); otherwise 404.
   * 409 READ_ONLY_CONNECTOR when a repository owns the permalink.
   */
  async updateManual(
    tenant: string,
    permalink: string,
    definition: ConnectorDefinition,
    options: { upsert?: boolean } = {},
  ): Promise<{ created: boolean; changed: boolean; stored: StoredConnector }> {
    if (definition.permalink !== permalink) throw new AppError(422, 'PERMALINK_MISMATCH', `the definition's permalink "${definition.permalink}" differs from "${permalink}"`);
    return this.writeManual(tenant, permalink, 'connector', definition, options.upsert === true ? 'upsert' : 'update');
  }

  async deleteManual(tenant: string, permalink: string): Promise<void> {
    const [status, repository, revision] = (await this.deleteManualScript(
      [stateKeys.connectorMeta(tenant), stateKeys.connectorDefs(tenant), stateKeys.revision(tenant)],
      [permalink, tenant, CHANGES_CHANNEL],
    )) as [string, string, number];
    if (status === 'missing') throw new ConnectorNotFoundError(tenant, permalink);
    if (status === 'readonly') throw new ReadOnlyConnectorError(permalink, repository);
    this.changes.changed(tenant, Number(revision));
  }

  /**
   * Makes `content` the complete set of connectors owned by the tenant's link to `repository`
   * (docs/design.md#all-or-nothing): creates, updates (only when the definition changed, docs/design.md#sync-plan) and deletes in
   * one atomic step. Any permalink owned by a manual connector or another link fails the whole
   * replacement with RegistryCollisionError and changes nothing (docs/design.md#collisions).
   */
  async replaceLink(tenant: string, repository: string, content: LinkContent): Promise<LinkPlan> {
    if (!REPOSITORY_PATTERN.test(repository) && !GIT_URL_OWNER.test(repository)) throw new Error(`"${repository}" is not owner/repo or a Git URL`);
    const items: [string, ConnectorKind, ConnectorDefinition | CompositeDefinition][] = [
      ...content.connectors.map((d) => [d.permalink, 'connector', d] as [string, ConnectorKind, ConnectorDefinition]),
      ...content.composites.map((d) => [d.permalink, 'composite', d] as [string, ConnectorKind, CompositeDefinition]),
    ];
    const seen = new Set<string>();
    for (const [permalink] of items) {
      if (seen.has(permalink)) throw new Error(`permalink "${permalink}" appears twice in the replacement set (the validator rejects this)`);
      seen.add(permalink);
    }
    const args: (string | number)[] = [repository, new Date().toISOString(), content.commitSha, tenant, CHANGES_CHANNEL, items.length];
    for (const [permalink, kind, definition] of items) {
      args.push(permalink, kind, definitionRevision(definition), JSON.stringify(definition));
    }
    return this.runReplace(tenant, args);
  }

  /** Removes every connector of the tenant's link to `repository` (unlink, docs/design.md#removing-connectors). */
  async removeLink(tenant: string, repository: string): Promise<{ deleted: string[] }> {
    const plan = await this.runReplace(tenant, [repository, new Date().toISOString(), '', tenant, CHANGES_CHANNEL, 0]);
    return { deleted: plan.deleted };
  }

  private async runReplace(tenant: string, args: (string | number)[]): Promise<LinkPlan> {
    const result = (await this.replaceScript(
      [stateKeys.connectorMeta(tenant), stateKeys.connectorDefs(tenant), stateKeys.revision(tenant)],
      args,
    )) as [string, ...unknown[]];
    if (result[0] === 'collision') {
      const flat = result[1] as string[];
      const collisions: CollisionInfo[] = [];
      for (let i = 0; i < flat.length; i += 3) collisions.push({ permalink: flat[i]!, owner: ownerOf(flat[i + 1]!, flat[i + 2]!) });
      throw new RegistryCollisionError(collisions);
    }
    const [, created, updated, deleted, revision] = result as [string, string[], string[], string[], number];
    const plan = { created: [...created].sort(), updated: [...updated].sort(), deleted: [...deleted].sort() };
    this.changes.changed(tenant, Number(revision));
    return plan;
  }

  private async writeManual(
    tenant: string,
    permalink: string,
    kind: ConnectorKind,
    definition: ConnectorDefinition | CompositeDefinition,
    mode: 'create' | 'upsert' | 'update',
  ): Promise<{ created: boolean; changed: boolean; stored: StoredConnector }> {
    // Stored in the validator's field order (name first), so Code Mode shows it as written; the
    // revision is computed from the canonical form, so key order never counts as a change.
    const json = JSON.stringify(definition);
    const [status, a, b] = (await this.writeManualScript(
      [stateKeys.connectorMeta(tenant), stateKeys.connectorDefs(tenant), stateKeys.revision(tenant)],
      [permalink, kind, definitionRevision(definition), json, new Date().toISOString(), tenant, CHANGES_CHANNEL, mode],
    )) as [string, string, string | number];
    if (status === 'taken') throw new PermalinkTakenError(permalink, ownerOf(a, String(b)));
    if (status === 'readonly') throw new ReadOnlyConnectorError(permalink, String(b));
    if (status === 'missing') throw new ConnectorNotFoundError(tenant, permalink);
    if (status !== 'unchanged') this.changes.changed(tenant, Number(b));
    return { created: status === 'created', changed: status !== 'unchanged', stored: toStored(tenant, parseMeta(a), json) };
  }
}
