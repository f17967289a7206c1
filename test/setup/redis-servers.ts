import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startRedisServer, type EmbeddedRedis } from '../../src/redis/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Port of the private redis-server for each worker slot (index = VITEST_POOL_ID - 1). */
    redisPorts: number[];
  }
}

const SLOTS = 2;

/**
 * Starts private redis-servers on free ports for the whole run, so the suite never depends on (or
 * disturbs) a Redis already on this machine, and stops them afterwards.
 */
export default async function setup(project: TestProject) {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-redis-'));
  const servers: EmbeddedRedis[] = [];
  for (let slot = 0; slot < SLOTS; slot++) {
    servers.push(await startRedisServer({ dataDir: join(dir, `slot-${slot}`), persistent: false }));
  }
  project.provide('redisPorts', servers.map((s) => s.port));
  return async () => {
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
}
