import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes, randomUUID } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';

/**
 * Access tokens of the OAuth strategies (docs/design.md#oauth-client-credentials), shared by every process through the cache
 * Redis. Values are AES-256-GCM encrypted with a key derived (HKDF) from the master key, so a
 * Redis dump never holds a usable token. One token request per key at a time, across processes:
 * an in-process single flight collapses local callers, and a Redis lock (SET NX PX) lets exactly one
 * process ask the token endpoint while the others wait — bounded — for the value to appear.
 */

export interface FetchedToken {
  accessToken: string;
  /** Seconds to keep it; ≤ 0 = use once, do not cache. */
  ttlSeconds: number;
}

export interface CachedToken {
  accessToken: string;
  /** True when the token was read from the cache (an upstream 401 then evicts it and retries once). */
  fromCache: boolean;
  key: string;
}

/** Counters the cache reports to (src/observability/metrics.ts); absent in unit tests. */
export interface TokenCacheMetrics {
  tokenRequests: { inc(labels: { outcome: 'ok' | 'failed' }): void };
  tokenCacheLookups: { inc(labels: { result: 'hit' | 'miss' }): void };
  tokenWaits: { inc(labels: { kind: 'process' | 'redis' }): void };
}

const RELEASE_LOCK = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;
const EVICT_IF_SAME = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export class TokenCache {
  private readonly key: Buffer;
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private readonly lockMs: number;
  private readonly pollMs: number;
  private readonly metrics: TokenCacheMetrics | undefined;

  constructor(
    private readonly redis: RedisClient,
    masterKey: Buffer,
    options: { lockMs: number; pollMs?: number; metrics?: TokenCacheMetrics },
  ) {
    this.metrics = options.metrics;
    this.key = Buffer.from(hkdfSync('sha256', masterKey, Buffer.alloc(0), 'gatehouse/oauth-token-cache/v1', 32));
    this.lockMs = options.lockMs;
    this.pollMs = options.pollMs ?? 15;
  }

  /** Redis key for a credential set: tenant hash tag + SHA-256 of the material (never the material itself). */
  static cacheKey(tenant: string, material: readonly unknown[]): string {
    const digest = createHash('sha256').update(JSON.stringify(material)).digest('hex');
    return `gh:{t:${tenant}}:token:${digest}`;
  }

  /** The cached token for `key`, or the one `fetch` obtains — at most one fetch per key at a time. */
  get(key: string, fetch: () => Promise<FetchedToken>): Promise<CachedToken> {
    const running = this.inflight.get(key);
    if (running !== undefined) {
      this.metrics?.tokenWaits.inc({ kind: 'process' });
      return running;
    }
    const p = this.load(key, fetch).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }

  /** Forgets `token` under `key` (after an upstream 401), unless another caller already replaced it. */
  async evict(key: string, token: string): Promise<void> {
    const raw = await this.redis.get(key);
    if (raw === null) return;
    if (this.decrypt(raw, key) === token) await this.redis.eval(EVICT_IF_SAME, 1, key, raw);
  }

  private async load(key: string, fetch: () => Promise<FetchedToken>): Promise<CachedToken> {
    const cached = await this.read(key);
    if (cached !== undefined) {
      this.metrics?.tokenCacheLookups.inc({ result: 'hit' });
      return { accessToken: cached, fromCache: true, key };
    }
    this.metrics?.tokenCacheLookups.inc({ result: 'miss' });
    let waited = false;

    const lockKey = `${key}:lock`;
    const owner = randomUUID();
    const deadline = Date.now() + this.lockMs;
    for (;;) {
      const got = await this.redis.set(lockKey, owner, 'PX', this.lockMs, 'NX');
      if (got === 'OK') {
        try {
          // Another process may have stored a token between our read and our lock.
          const again = await this.read(key);
          if (again !== undefined) return { accessToken: again, fromCache: true, key };
          const fresh = await this.request(fetch);
          if (fresh.ttlSeconds > 0) await this.redis.set(key, this.encrypt(fresh.accessToken, key), 'EX', Math.floor(fresh.ttlSeconds));
          return { accessToken: fresh.accessToken, fromCache: false, key };
        } finally {
          await this.redis.eval(RELEASE_LOCK, 1, lockKey, owner).catch(() => undefined);
        }
      }
      if (!waited) {
        waited = true;
        this.metrics?.tokenWaits.inc({ kind: 'redis' });
      }
      await sleep(this.pollMs);
      const other = await this.read(key);
      if (other !== undefined) return { accessToken: other, fromCache: true, key };
      if (Date.now() > deadline) {
        // The lock holder is stuck or gone (its lock will expire); asking ourselves beats failing.
        const fresh = await this.request(fetch);
        if (fresh.ttlSeconds > 0) await this.redis.set(key, this.encrypt(fresh.accessToken, key), 'EX', Math.floor(fresh.ttlSeconds));
        return { accessToken: fresh.accessToken, fromCache: false, key };
      }
    }
  }

  /** One request to the token endpoint, counted. */
  private async request(fetch: () => Promise<FetchedToken>): Promise<FetchedToken> {
    try {
      const fresh = await fetch();
      this.metrics?.tokenRequests.inc({ outcome: 'ok' });
      return fresh;
    } catch (err) {
      this.metrics?.tokenRequests.inc({ outcome: 'failed' });
      throw err;
    }
  }

  private async read(key: string): Promise<string | undefined> {
    const raw = await this.redis.get(key);
    if (raw === null) return undefined;
    return this.decrypt(raw, key);
  }

  private encrypt(token: string, key: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    // Binding the Redis key as AAD stops a value from being replayed under another credential set.
    cipher.setAAD(Buffer.from(key));
    const ct = Buffer.concat([cipher.update(token, 'utf8'), cipher.final()]);
    return `v1.${iv.toString('base64url')}.${ct.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}`;
  }

  private decrypt(raw: string, key: string): string | undefined {
    const [v, iv, ct, tag] = raw.split('.');
    if (v !== 'v1' || iv === undefined || ct === undefined || tag === undefined) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(key));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
    } catch {
      // Written under another master key (rotation): treat as absent, a fresh token replaces it.
      return undefined;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
