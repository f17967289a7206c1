import { AppError } from '../errors.js';
import type { RedisClient } from '../redis/connection.js';
import { defineScript, stateKeys, type ScriptRunner } from '../registry/keys.js';
import { newDataKey, unwrapDataKey, wrapDataKey, type MasterKey } from './crypto.js';

/** The tenant's data key exists but is not wrapped under the master key this process holds. */
export class MasterKeyMismatchError extends AppError {
  constructor(tenant: string, keyId: string) {
    super(
      500,
      'MASTER_KEY_MISMATCH',
      `the data key of tenant "${tenant}" is not wrapped under the configured master key (${keyId}); ` +
        'set GATEHOUSE_MASTER_KEY to the key in use, or finish the rotation with "gatehouse rotate-master-key"',
    );
    this.name = 'MasterKeyMismatchError';
  }
}

// Creates the tenant's data key once: concurrent first writes in several processes agree on one key.
const ENSURE_LUA = `
local mine = redis.call('HGET', KEYS[1], ARGV[1])
if mine then return {'existing', mine} end
if redis.call('HLEN', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  return {'created', ARGV[2]}
end
return {'mismatch', ''}
`;

/**
 * Per-tenant data keys. The unwrapped key is cached in memory: it never changes for a tenant (a
 * master-key rotation only re-wraps it), so caching cannot serve stale data; a decryption failure
 * with a cached key drops it (see `forget`).
 */
export class DataKeys {
  private readonly cache = new Map<string, Buffer>();
  private readonly ensureScript: ScriptRunner;

  constructor(
    private readonly redis: RedisClient,
    readonly master: MasterKey,
  ) {
    this.ensureScript = defineScript(redis, 'ghEnsureDataKey', 1, ENSURE_LUA);
  }

  cached(tenant: string): Buffer | undefined {
    return this.cache.get(tenant);
  }

  forget(tenant: string): void {
    this.cache.delete(tenant);
  }

  /** Unwraps the field read from Redis (`HGET dek <master id>`); `undefined` when the tenant has none. */
  async fromWrapped(tenant: string, wrapped: string | null): Promise<Buffer | undefined> {
    if (wrapped === null) {
      // Either no key yet (no secret was ever sealed) or only other master keys wrap it.
      if ((await this.redis.hlen(stateKeys.dataKey(tenant))) > 0) throw new MasterKeyMismatchError(tenant, this.master.id);
      return undefined;
    }
    const dek = unwrapDataKey(this.master, wrapped, tenant);
    this.cache.set(tenant, dek);
    return dek;
  }

  /** The tenant's data key, or `undefined` when none exists yet. */
  async get(tenant: string): Promise<Buffer | undefined> {
    const hit = this.cache.get(tenant);
    if (hit !== undefined) return hit;
    return this.fromWrapped(tenant, await this.redis.hget(stateKeys.dataKey(tenant), this.master.id));
  }

  /** The tenant's data key, created when missing. Always consults Redis (writes are rare). */
  async ensure(tenant: string): Promise<Buffer> {
    const candidate = newDataKey();
    const [status, wrapped] = (await this.ensureScript([stateKeys.dataKey(tenant)], [this.master.id, wrapDataKey(this.master, candidate, tenant)])) as [string, string];
    if (status === 'mismatch') throw new MasterKeyMismatchError(tenant, this.master.id);
    const dek = status === 'created' ? candidate : unwrapDataKey(this.master, wrapped, tenant);
    this.cache.set(tenant, dek);
    return dek;
  }
}
