import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/app.js';
import type { Config } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, testConfig, type TestService } from '../support/service.js';

export interface Answer<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

/** Tiny admin API client: JSON in, JSON out; `raw` sends the body text unchanged. */
export function adminClient(baseUrl: string, token = TEST_ADMIN_TOKEN) {
  return async function call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    options: { raw?: boolean; contentType?: string; headers?: Record<string, string> } = {},
  ): Promise<Answer<T>> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...options.headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = options.raw === true ? String(body) : JSON.stringify(body);
      headers['content-type'] = options.contentType ?? 'application/json';
    }
    const res = await fetch(`${baseUrl}/admin/v1${path}`, { method, headers, body: payload });
    const text = await res.text();
    let parsed: unknown = undefined;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  };
}

/** Collects every log line pino writes (JSON text), so tests can search it. */
/** The real app on a freshly flushed test Redis, with an admin client: the setup of an admin test file. */
export async function startAdminService(env: Record<string, string> = {}): Promise<{ svc: TestService; call: ReturnType<typeof adminClient> }> {
  await flushTestRedis();
  const svc = await startTestService({ env });
  return { svc, call: adminClient(svc.url) };
}

export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l !== ''));
    done();
  }
  get text(): string {
    return this.lines.join('\n');
  }
  records(): Record<string, any>[] {
    return this.lines.map((l) => JSON.parse(l) as Record<string, any>);
  }
}

export interface CapturedService {
  app: FastifyInstance;
  services: Services;
  config: Config;
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

/** Like startTestService, with every log line (at `level`) captured in memory. */
export async function startCapturedService(options: { config?: Config; env?: Record<string, string>; level?: string } = {}): Promise<CapturedService> {
  const config = options.config ?? testConfig(options.env);
  const logs = new LogCapture();
  const log = createLogger(options.level ?? 'trace', logs);
  const url = config.redisUrl ?? testRedisUrl();
  const services = await createServices({ config, log, stateUrl: url, cacheUrl: url });
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return {
    app,
    services,
    config,
    url: address,
    logs,
    async close() {
      await app.close();
      await services.close();
    },
  };
}

export const HS256_SECRET = 'hs256-session-secret-0123456789abcdef';

/** A minimal valid Code Mode connector. */
export function connectorJson(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'Weather', url: 'https://api.example.com/weather', method: 'GET', ...overrides };
}
