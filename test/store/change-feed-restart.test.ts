import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { CHANGES_CHANNEL } from '../../src/registry/keys.js';
import { freePort, startRedisServer, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { ChangeFeed } from '../../src/tenants/changes.js';

/**
 * The change feed's pub/sub connection across Redis restarts: it subscribes again by itself after
 * each reconnect (other processes' changes keep arriving within milliseconds, not only through the
 * periodic check), and a shutdown racing that re-subscription leaves no unhandled rejection (which
 * would end a Node process).
 */
describe('change feed across a Redis restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-feed-'));
  let port: number;
  let server: EmbeddedRedis | undefined;
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  beforeAll(async () => {
    port = await freePort();
    server = await startRedisServer({ dataDir, port, persistent: false });
    process.on('unhandledRejection', onUnhandled);
  });

  afterAll(async () => {
    process.off('unhandledRejection', onUnhandled);
    await server?.stop();
  });

  /** Publishes `tenant 1` until the feed announces it (the subscription is live), within `limitMs`. */
  async function announced(publisher: Redis, seen: string[], tenant: string, limitMs: number): Promise<boolean> {
    const deadline = Date.now() + limitMs;
    while (Date.now() < deadline) {
      await publisher.publish(CHANGES_CHANNEL, `${tenant} 1`).catch(() => 0);
      if (seen.includes(tenant)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  it('is subscribed again after each restart, and closing during the re-subscription rejects nothing', async () => {
    const redis = new Redis(server!.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    const publisher = new Redis(server!.url, { maxRetriesPerRequest: 1, retryStrategy: () => 50 });
    redis.on('error', () => undefined);
    publisher.on('error', () => undefined);
    // A periodic check far beyond the test: only pub/sub can announce the changes.
    const feed = new ChangeFeed(redis, createLogger('silent'), { pollIntervalMs: 600_000 });
    const seen: string[] = [];
    feed.subscribe((tenant) => seen.push(tenant));
    try {
      expect(await announced(publisher, seen, 'before-restart', 10_000)).toBe(true);

      for (const round of [1, 2, 3]) {
        await server!.stop();
        server = await startRedisServer({ dataDir, port, persistent: false });
        expect(await announced(publisher, seen, `after-restart-${round}`, 15_000)).toBe(true);
      }

      // Restart once more and shut the feed down while its connection comes back.
      await server!.stop();
      server = await startRedisServer({ dataDir, port, persistent: false });
      await publisher.ping().catch(() => undefined);
      await feed.close();
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      await feed.close();
      redis.disconnect();
      publisher.disconnect();
    }
  }, 90_000);
});
