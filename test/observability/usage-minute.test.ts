import { describe, expect, it, vi } from 'vitest';
import type { Logger } from '../../src/logger.js';
import type { RedisClient } from '../../src/redis/connection.js';
import { UsageStore } from '../../src/observability/usage.js';

/** A pipeline that records the HINCRBY calls it is given (the writes of a flush). */
function recordingRedis(): { redis: RedisClient; writes: { key: string; field: string; n: number }[] } {
  const writes: { key: string; field: string; n: number }[] = [];
  const pipeline = () => {
    const p = {
      hincrby(key: string, field: string, n: number) {
        writes.push({ key, field, n });
        return p;
      },
      expire: () => p,
      exec: async () => [],
    };
    return p;
  };
  return { redis: { pipeline } as unknown as RedisClient, writes };
}

const log = { warn: () => undefined } as unknown as Logger;

describe('UsageStore minute buckets', () => {
  it('counts executions in the current minute, by connector and field', async () => {
    const { redis, writes } = recordingRedis();
    const usage = new UsageStore(redis, log, 60_000);
    const before = Math.floor(Date.now() / 60_000);
    usage.record('acme', 'ok', 200, 'HIT', 0.4);
    usage.record('acme', 'ok', 502, 'MISS', 40);
    usage.record('acme', 'other-one', 200, 'BYPASS', 3);
    const after = Math.floor(Date.now() / 60_000);
    await usage.close();
    const minutes = new Set(writes.map((w) => Number(w.key.split(':').at(-1))));
    expect(minutes.size).toBe(1);
    const [minute] = minutes;
    expect(minute! >= before && minute! <= after).toBe(true);
    expect(writes.every((w) => w.key === `gh:{t:acme}:usage:${minute}`)).toBe(true);
    const field = (name: string) => writes.find((w) => w.field === name)?.n;
    expect(field('n:ok')).toBe(2);
    expect(field('e5:ok')).toBe(1);
    expect(field('ch:ok')).toBe(1);
    expect(field('cl:ok')).toBe(2);
    expect(field('n:other-one')).toBe(1);
    expect(field('cl:other-one')).toBeUndefined();
  });

  it('moves to the next minute at the wall clock\'s minute boundary', async () => {
    vi.useFakeTimers({ now: Date.UTC(2026, 11, 8, 12, 0, 59, 900), toFake: ['Date', 'setTimeout', 'clearTimeout'] });
    try {
      const { redis, writes } = recordingRedis();
      const usage = new UsageStore(redis, log, 600_000);
      const first = Math.floor(Date.now() / 60_000);
      usage.record('acme', 'ok', 200, 'HIT', 0.4);
      vi.advanceTimersByTime(99);
      usage.record('acme', 'ok', 200, 'HIT', 0.4);
      vi.advanceTimersByTime(2);
      usage.record('acme', 'ok', 200, 'HIT', 0.4);
      vi.advanceTimersByTime(60_000);
      usage.record('acme', 'ok', 200, 'HIT', 0.4);
      await usage.close();
      const perMinute = new Map<number, number>();
      for (const w of writes.filter((x) => x.field === 'n:ok')) perMinute.set(Number(w.key.split(':').at(-1)), w.n);
      expect([...perMinute]).toEqual([
        [first, 2],
        [first + 1, 1],
        [first + 2, 1],
      ]);
    } finally {
      vi.useRealTimers();
    }
  });
});
