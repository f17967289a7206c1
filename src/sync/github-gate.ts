import type { RedisClient } from '../redis/connection.js';
import { syncKeys } from './keys.js';

/**
 * GitHub rate limits belong to the credential, not to one job: when GitHub says "stop until T",
 * every sync, status and reconcile job of every process waits until T. The gate is one Redis key
 * holding T (expiring at T), only ever moved later.
 */

// KEYS: gate. ARGV: until (epoch ms), now (epoch ms)
const BLOCK_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local untilMs = tonumber(ARGV[1])
if untilMs > cur then redis.call('SET', KEYS[1], ARGV[1], 'PX', math.max(1, untilMs - tonumber(ARGV[2]))) end
return 1
`;

export class GitHubGate {
  constructor(private readonly redis: RedisClient) {}

  /** Epoch ms until which GitHub must not be called, or 0. */
  async blockedUntil(now = Date.now()): Promise<number> {
    const v = Number((await this.redis.get(syncKeys.githubBlockedUntil)) ?? 0);
    return v > now ? v : 0;
  }

  async block(untilMs: number): Promise<void> {
    await this.redis.eval(BLOCK_LUA, 1, syncKeys.githubBlockedUntil, Math.ceil(untilMs), Date.now());
  }
}
