import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { testRedisUrl } from './redis.js';

export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef';
/** One master key per test process: app instances sharing a Redis must read each other's sealed data. */
const TEST_MASTER_KEY = randomBytes(32).toString('base64');

/** A Config for tests: private Redis, fixed admin token, a fresh master key, loopback upstreams allowed. */
export function testConfig(env: Record<string, string | undefined> = {}): Config {
  return loadConfig({
    NODE_ENV: 'test',
    GATEHOUSE_HOME: mkdtempSync(join(tmpdir(), 'gatehouse-home-')),
    REDIS_URL: testRedisUrl(),
    GATEHOUSE_MASTER_KEY: TEST_MASTER_KEY,
    GATEHOUSE_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    ...env,
  });
}

export interface TestService {
  app: FastifyInstance;
  services: Services;
  config: Config;
  /** Base URL, e.g. http://127.0.0.1:34567 */
  url: string;
  close(): Promise<void>;
}

/** Builds the real app on the test Redis and listens on a free loopback port. */
export async function startTestService(options: { env?: Record<string, string | undefined>; config?: Config; roles?: { api: boolean; worker: boolean } } = {}): Promise<TestService> {
  const config = options.config ?? testConfig(options.env);
  const log = createLogger(config.logLevel);
  const url = config.redisUrl ?? testRedisUrl();
  const services = await createServices({ config, log, stateUrl: url, cacheUrl: config.cacheRedisUrl ?? url });
  const app = await buildApp(services, { roles: options.roles ?? { api: true, worker: false } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    services,
    config,
    url: address,
    async close() {
      await app.close();
      await services.close();
    },
  };
}
