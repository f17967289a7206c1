import { Redis } from 'ioredis';
import { inject } from 'vitest';

/**
 * The redis-server private to this worker slot (see test/setup/redis-servers.ts). Files in one slot
 * run sequentially, so a file owns the whole server (all databases, pub/sub) while it runs.
 */
export function testRedisUrl(db = 0): string {
  const ports = inject('redisPorts');
  const slot = Number(process.env.VITEST_POOL_ID ?? '1') - 1;
  const port = ports[slot % ports.length];
  if (port === undefined) throw new Error('no test redis-server: is test/setup/redis-servers.ts the globalSetup?');
  return `redis://127.0.0.1:${port}/${db}`;
}

/** Empties this slot's server; call in `beforeAll`/`beforeEach` of files that use Redis. */
export async function flushTestRedis(): Promise<void> {
  const client = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  try {
    await client.flushall();
  } finally {
    client.disconnect();
  }
}

/** A plain client for assertions (scanning keys, reading values). Disconnect it in `afterAll`. */
export function testRedisClient(db = 0): Redis {
  return new Redis(testRedisUrl(db), { maxRetriesPerRequest: 1 });
}
