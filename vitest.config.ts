import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/redis-servers.ts'],
    pool: 'forks',
    // One private redis-server per worker slot (test/setup/redis-servers.ts): files in one slot run
    // one after another, so each file may flush "its" server without disturbing another.
    maxWorkers: 2,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    teardownTimeout: 30_000,
  },
});
