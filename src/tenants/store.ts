import { AppError, BadRequestError } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import { CHANGES_CHANNEL, defineScript, execReply, stateKeys, type ScriptRunner } from '../registry/keys.js';
import { associatedData, openString, sealString } from '../secrets/crypto.js';
import type { DataKeys } from '../secrets/keys.js';
import { syncKeys } from '../sync/keys.js';
import type { ChangeFeed } from './changes.js';
import { isValidTenantId, type Tenant, type TenantView } from './model.js';
import { validateTenantInput, type TenantInput, type TenantRules } from './validate.js';

/** JSON kept in the tenant hash's `doc` field; the HS256 secret lives sealed in `session_secret`. */
interface TenantDoc {
  id: string;
  name: string;
  session: { alg: 'HS256' } | { jwks_url: string } | null;
  allowed_origins: string[];
  rate_limit_per_minute: number | null;
  /** Absent in documents written before the setting existed (= null). */
  rate_limit_per_user_per_minute?: number | null;
  /** Absent in documents written before the setting existed (= true). */
  trace_propagation?: boolean;
  updated_at: string;
}

// KEYS: tenant, revision, secrets, connector meta, connector defs, repository links
// ARGV: doc, now, secret mode (set|keep|clear), sealed secret, tenant, channel
// A new tenant starts empty: anything a write racing an earlier deletion of the same id left behind
// is removed here, so it cannot resurface under the new tenant.
const PUT_LUA = `
local existed = redis.call('EXISTS', KEYS[1]) == 1
if not existed then redis.call('DEL', KEYS[3], KEYS[4], KEYS[5], KEYS[6]) end
if ARGV[3] == 'keep' then
  if redis.call('HEXISTS', KEYS[1], 'session_secret') == 0 then return {'no_secret', 0} end
elseif ARGV[3] == 'set' then
  redis.call('HSET', KEYS[1], 'session_secret', ARGV[4])
else
  redis.call('HDEL', KEYS[1], 'session_secret')
end
if not existed then redis.call('HSET', KEYS[1], 'created_at', ARGV[2]) end
redis.call('HSET', KEYS[1], 'doc', ARGV[1])
local rev = redis.call('INCR', KEYS[2])
redis.call('PUBLISH', ARGV[6], ARGV[5] .. ' ' .. rev)
if existed then return {'updated', rev} end
return {'created', rev}
`;

// KEYS: tenant, data key, secrets, connector meta, connector defs, revision, repository links
// ARGV: tenant, channel. One slot (hash tag {t:<tenant>}), so the check and the delete are atomic
// with respect to a concurrent link, connector or secret write of the same tenant.
const DELETE_LUA = `
if redis.call('HEXISTS', KEYS[1], 'doc') == 0 then return {'missing'} end
if redis.call('HLEN', KEYS[7]) > 0 then
  local reply = {'linked'}
  for _, repo in ipairs(redis.call('HKEYS', KEYS[7])) do table.insert(reply, repo) end
  return reply
end
local reply = {'deleted', 0}
for _, permalink in ipairs(redis.call('HKEYS', KEYS[4])) do table.insert(reply, permalink) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local rev = redis.call('INCR', KEYS[6])
reply[2] = rev
redis.call('PUBLISH', ARGV[2], ARGV[1] .. ' ' .. rev)
return reply
`;

export class TenantHasRepositoriesError extends AppError {
  constructor(tenant: string, repositories: string[]) {
    super(
      409,
      'TENANT_HAS_REPOSITORIES',
      `tenant "${tenant}" still links ${repositories.join(', ')}; unlink each first (DELETE /admin/v1/tenants/${tenant}/repositories/{owner}/{repo}), which removes its connectors`,
    );
    this.name = 'TenantHasRepositoriesError';
  }
}

export class TenantNotFoundError extends AppError {
  constructor(tenant: string) {
    super(404, 'TENANT_NOT_FOUND', `no tenant "${tenant}"`);
    this.name = 'TenantNotFoundError';
  }
}

interface CacheSlot {
  value: Promise<Tenant | undefined>;
  /** Set once `value` has resolved: the request path reads it without a promise (see held()). */
  settled?: { tenant: Tenant | undefined };
  /** Misses of tenants without any state are not tracked by the feed (see get()); they expire instead. */
  expiresAt?: number;
}

/** How long an unknown tenant is remembered as unknown (docs/design.md#read-your-writes: others' writes visible within 1 s). */
const MISS_TTL_MS = 1000;

/**
 * Tenants and their settings. Admin reads go to Redis; the runtime's `get()` is served from an
 * in-memory cache invalidated through the change feed (docs/design.md#read-your-writes).
 */
export class TenantStore {
  private readonly putScript: ScriptRunner;
  private readonly deleteScript: ScriptRunner;
  private readonly cache = new Map<string, CacheSlot>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: DataKeys,
    private readonly feed: ChangeFeed,
    private readonly rules: TenantRules,
    private readonly maxCached = 10_000,
  ) {
    this.putScript = defineScript(redis, 'ghTenantPut', 6, PUT_LUA);
    this.deleteScript = defineScript(redis, 'ghTenantDelete', 7, DELETE_LUA);
  }

  /**
   * Deletes a tenant with its settings, secrets, variables, data key and manual connectors, in one
   * atomic step; refused while repository links remain, since unlinking is what stops their syncs
   * and removes their connectors. Every process drops the tenant within a second
   * (docs/design.md#read-your-writes). Sync history is kept as the audit trail. Returns the removed connectors.
   */
  async delete(id: string): Promise<{ connectors: string[] }> {
    if (!isValidTenantId(id)) throw new TenantNotFoundError(id);
    const reply = (await this.deleteScript(
      [stateKeys.tenant(id), stateKeys.dataKey(id), stateKeys.secrets(id), stateKeys.connectorMeta(id), stateKeys.connectorDefs(id), stateKeys.revision(id), syncKeys.links(id)],
      [id, CHANGES_CHANNEL],
    )) as (string | number)[];
    if (reply[0] === 'missing') throw new TenantNotFoundError(id);
    if (reply[0] === 'linked') throw new TenantHasRepositoriesError(id, reply.slice(1).map(String));
    await this.redis.srem(stateKeys.tenantIndex, id);
    this.keys.forget(id);
    this.feed.changed(id, Number(reply[1]));
    return { connectors: reply.slice(2).map(String) };
  }

  /** Creates or replaces a tenant. Returns whether it was created and the admin view. */
  async put(id: string, input: TenantInput): Promise<{ created: boolean; tenant: TenantView }> {
    assertTenantId(id);
    const problems = validateTenantInput(input, this.rules);
    if (problems.length > 0) {
      throw new BadRequestError('INVALID_REQUEST', `the tenant settings are invalid: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`, problems);
    }
    const now = new Date().toISOString();
    const session = input.session ?? null;
    let mode: 'set' | 'keep' | 'clear' = 'clear';
    let sealed = '';
    let docSession: TenantDoc['session'] = null;
    if (session !== null && 'alg' in session) {
      docSession = { alg: 'HS256' };
      if (session.secret === undefined) {
        mode = 'keep';
      } else {
        mode = 'set';
        sealed = sealString(await this.keys.ensure(id), session.secret, associatedData.sessionSecret(id));
      }
    } else if (session !== null) {
      docSession = { jwks_url: session.jwks_url };
    }
    // Secrets and variables of the tenant are sealed with this key: create it with the tenant.
    if (mode !== 'set') await this.keys.ensure(id);
    const doc: TenantDoc = {
      id,
      name: input.name.trim(),
      session: docSession,
      allowed_origins: input.allowed_origins ?? [],
      rate_limit_per_minute: input.rate_limit_per_minute ?? null,
      rate_limit_per_user_per_minute: input.rate_limit_per_user_per_minute ?? null,
      trace_propagation: input.trace_propagation ?? true,
      updated_at: now,
    };
    const [status, revision] = (await this.putScript(
      [stateKeys.tenant(id), stateKeys.revision(id), stateKeys.secrets(id), stateKeys.connectorMeta(id), stateKeys.connectorDefs(id), syncKeys.links(id)],
      [JSON.stringify(doc), now, mode, sealed, id, CHANGES_CHANNEL],
    )) as [string, number];
    if (status === 'no_secret') {
      throw new BadRequestError('INVALID_REQUEST', 'session.secret is required: the tenant has no HS256 secret stored yet', [{ path: '/body/session/secret', message: 'is required' }]);
    }
    await this.redis.sadd(stateKeys.tenantIndex, id);
    this.feed.changed(id, Number(revision));
    const createdAt = status === 'created' ? now : ((await this.redis.hget(stateKeys.tenant(id), 'created_at')) ?? now);
    return { created: status === 'created', tenant: toView(doc, createdAt) };
  }

  async exists(id: string): Promise<boolean> {
    return isValidTenantId(id) && (await this.redis.hexists(stateKeys.tenant(id), 'doc')) === 1;
  }

  /** Throws 404 TENANT_NOT_FOUND unless the tenant exists. */
  async require(id: string): Promise<void> {
    if (!(await this.exists(id))) throw new TenantNotFoundError(id);
  }

  async view(id: string): Promise<TenantView | undefined> {
    if (!isValidTenantId(id)) return undefined;
    const [docText, createdAt] = await this.redis.hmget(stateKeys.tenant(id), 'doc', 'created_at');
    if (docText === null || docText === undefined) return undefined;
    return toView(JSON.parse(docText) as TenantDoc, createdAt ?? '');
  }

  async list(): Promise<TenantView[]> {
    const ids = (await this.redis.smembers(stateKeys.tenantIndex)).sort();
    const views = await Promise.all(ids.map((id) => this.view(id)));
    return views.filter((v): v is TenantView => v !== undefined);
  }

  /** The runtime's read: cached per process, session secret decrypted in memory only. */
  get(id: string): Promise<Tenant | undefined> {
    if (!isValidTenantId(id)) return Promise.resolve(undefined);
    this.unsubscribe ??= this.feed.subscribe((tenant) => this.cache.delete(tenant));
    const hit = this.cache.get(id);
    if (hit !== undefined && (hit.expiresAt === undefined || hit.expiresAt > Date.now())) return hit.value;
    const slot: CacheSlot = { value: Promise.resolve(undefined) };
    slot.value = this.load(id).then(
      ({ tenant, revision }) => {
        slot.settled = { tenant };
        // Tracking a tenant costs a revision check per interval, so ids that name nothing (a caller
        // may send any) are not tracked: the miss is kept briefly and looked up again.
        if (tenant === undefined && revision === 0) slot.expiresAt = Date.now() + MISS_TTL_MS;
        else this.feed.observe(id, revision);
        return tenant;
      },
      (err: unknown) => {
        if (this.cache.get(id) === slot) this.cache.delete(id);
        throw err;
      },
    );
    this.cache.delete(id);
    this.cache.set(id, slot);
    if (this.cache.size > this.maxCached) this.cache.delete(this.cache.keys().next().value as string);
    return slot.value;
  }

  /**
   * What `get` would answer, when this process holds it already (loaded and still current):
   * `{ tenant }` without a promise; undefined when only `get` can tell.
   */
  held(id: string): { tenant: Tenant | undefined } | undefined {
    const hit = this.cache.get(id);
    if (hit === undefined || hit.settled === undefined) return undefined;
    if (hit.expiresAt !== undefined && hit.expiresAt <= Date.now()) return undefined;
    return hit.settled;
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.cache.clear();
  }

  private async load(id: string): Promise<{ tenant: Tenant | undefined; revision: number }> {
    const replies = await this.redis.multi().hmget(stateKeys.tenant(id), 'doc', 'session_secret').get(stateKeys.revision(id)).exec();
    const fields = execReply<(string | null)[]>(replies, 0);
    const revision = Number(execReply<string | null>(replies, 1) ?? 0);
    const docText = fields[0];
    if (docText === null || docText === undefined) return { tenant: undefined, revision };
    const doc = JSON.parse(docText) as TenantDoc;
    let session: Tenant['session'];
    if (doc.session !== null && 'alg' in doc.session) {
      const sealed = fields[1];
      if (sealed === null || sealed === undefined) throw new AppError(500, 'TENANT_CORRUPT', `tenant "${id}" has HS256 session settings but no stored secret`);
      const dek = await this.keys.get(id);
      if (dek === undefined) throw new AppError(500, 'TENANT_CORRUPT', `tenant "${id}" has a sealed session secret but no data key`);
      session = { alg: 'HS256', secret: openString(dek, sealed, associatedData.sessionSecret(id), `the session secret of tenant ${id}`) };
    } else if (doc.session !== null) {
      session = { jwks_url: doc.session.jwks_url };
    }
    const tenant: Tenant = { id: doc.id, name: doc.name, session, allowed_origins: doc.allowed_origins };
    if (doc.rate_limit_per_minute !== null) tenant.rate_limit_per_minute = doc.rate_limit_per_minute;
    if (typeof doc.rate_limit_per_user_per_minute === 'number') tenant.rate_limit_per_user_per_minute = doc.rate_limit_per_user_per_minute;
    if (doc.trace_propagation === false) tenant.trace_propagation = false;
    return { tenant, revision };
  }
}

export function assertTenantId(id: string): void {
  if (!isValidTenantId(id)) {
    throw new BadRequestError('INVALID_TENANT_ID', `"${id.slice(0, 80)}" is not a valid tenant id: use 1–63 lowercase letters, digits and "-", starting with a letter or digit`);
  }
}

function toView(doc: TenantDoc, createdAt: string): TenantView {
  return {
    id: doc.id,
    name: doc.name,
    session: doc.session,
    allowed_origins: doc.allowed_origins,
    rate_limit_per_minute: doc.rate_limit_per_minute,
    rate_limit_per_user_per_minute: doc.rate_limit_per_user_per_minute ?? null,
    trace_propagation: doc.trace_propagation !== false,
    created_at: createdAt,
    updated_at: doc.updated_at,
  };
}
