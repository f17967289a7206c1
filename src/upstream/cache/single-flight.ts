import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../../redis/connection.js';

/**
 * Concurrent misses for one request make one upstream call (docs/design.md#http-cache).
 *
 * Within a process, callers of the same key share one promise. Across processes, the leader holds
 * a short Redis lock (`SET NX PX`); other processes poll for its release (5 ms, doubling to 50 ms)
 * for at most `maxWaitMs`, then look the entry up again — and call the upstream themselves when it
 * is still missing (the leader's answer was not storable, or the leader died and the lock expired).
 * Polling keeps this free of a dedicated pub/sub connection; the wait is bounded either way.
 */

export class InProcessFlights<T> {
  private readonly flights = new Map<string, Promise<T>>();

  /** Runs `fn` unless a call for `key` is already running; `leader` tells the caller which case it was. */
  run(key: string, fn: () => Promise<T>): { leader: boolean; promise: Promise<T> } {
    const running = this.flights.get(key);
    if (running !== undefined) return { leader: false, promise: running };
    const promise = (async () => {
      try {
        return await fn();
      } finally {
        this.flights.delete(key);
      }
    })();
    this.flights.set(key, promise);
    return { leader: true, promise };
  }

  get size(): number {
    return this.flights.size;
  }
}

const RELEASE_SCRIPT = `if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`;

export interface LockOptions {
  /** Lock lifetime: long enough for one upstream call, short enough that a dead leader frees it soon. */
  ttlMs: number;
  /** How long a follower waits for the leader before calling the upstream itself. */
  maxWaitMs: number;
}

export class RedisLock {
  constructor(
    private readonly redis: RedisClient,
    private readonly options: LockOptions,
  ) {}

  /** The token to release with, or undefined when another process holds the lock. */
  async acquire(key: string): Promise<string | undefined> {
    const token = randomBytes(12).toString('base64url');
    const ok = await this.redis.set(key, token, 'PX', this.options.ttlMs, 'NX');
    return ok === 'OK' ? token : undefined;
  }

  /** Deletes the lock only if it is still ours (it may have expired and been taken by another leader). */
  async release(key: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_SCRIPT, 1, key, token);
  }

  /** Resolves true once the lock is gone, false when `maxWaitMs` passed first. */
  async waitForRelease(key: string): Promise<boolean> {
    const deadline = Date.now() + this.options.maxWaitMs;
    let delay = 5;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await sleep(Math.min(delay, left));
      if ((await this.redis.exists(key)) === 0) return true;
      delay = Math.min(delay * 2, 50);
    }
  }
}
