import { createHash } from 'node:crypto';
import type { RedisClient } from '../redis/connection.js';

const HIT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {n, redis.call('PTTL', KEYS[1])}
`;

/**
 * docs/design.md#rate-limits: a per-tenant limit of executions per minute, off unless the tenant sets
 * `rate_limit_per_minute`; and (extension) `rate_limit_per_user_per_minute`, counted per signed-in
 * user so one user cannot use up the tenant's budget. Fixed one-minute windows counted in the cache
 * Redis, shared by every process. If that Redis is unavailable the limit is not enforced (fail
 * open): the limit protects upstreams from bursts, it is not a security boundary.
 */
export class RateLimiter {
  constructor(private readonly redis: RedisClient) {}

  /** undefined = allowed; otherwise the seconds until the window ends (for `Retry-After`). */
  check(tenant: string, perMinute: number | undefined): Promise<number | undefined> {
    return this.hit(`gh:{t:${tenant}}:rl`, perMinute);
  }

  /** The same for one user of the tenant; the key holds a digest of the user id, not the id. */
  checkUser(tenant: string, userId: string, perMinute: number | undefined): Promise<number | undefined> {
    const digest = createHash('sha256').update(userId).digest('base64url').slice(0, 22);
    return this.hit(`gh:{t:${tenant}}:rlu:${digest}`, perMinute);
  }

  private async hit(bucket: string, perMinute: number | undefined): Promise<number | undefined> {
    if (perMinute === undefined || perMinute <= 0) return undefined;
    if (this.redis.status !== 'ready') return undefined;
    const window = Math.floor(Date.now() / 60_000);
    try {
      const [count, pttl] = (await this.redis.eval(HIT, 1, `${bucket}:${window}`, 61_000)) as [number, number];
      if (count <= perMinute) return undefined;
      const msLeft = pttl > 0 ? Math.min(pttl, 60_000 - (Date.now() % 60_000)) : 60_000 - (Date.now() % 60_000);
      return Math.max(1, Math.ceil(msLeft / 1000));
    } catch {
      return undefined;
    }
  }
}
