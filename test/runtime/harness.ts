import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { SignJWT } from 'jose';
import { buildApp } from '../../src/app.js';
import { createLogger } from '../../src/logger.js';
import type { CompositeDefinition } from '../../src/registry/model.js';
import { createServices, type Services } from '../../src/services.js';
import type { FastifyInstance } from 'fastify';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { TEST_ADMIN_TOKEN, testConfig } from '../support/service.js';

export const SESSION_SECRET = 'acme-session-secret-0123456789abcdef';
/** One master key for every harness of a test file: two instances must read each other's secrets. */
const MASTER_KEY = randomBytes(32).toString('base64');

/** The real app on the test Redis, with every log line captured (to prove secrets never reach logs). */
export interface Harness {
  url: string;
  app: FastifyInstance;
  services: Services;
  logs: string[];
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; headers: Headers }>;
  exec(
    permalink: string,
    options?: { method?: string; query?: string; headers?: Record<string, string>; body?: string | Buffer; pathParams?: string; token?: string; tenant?: string; composite?: boolean },
  ): Promise<{ status: number; text: string; json: any; headers: Headers }>;
  session(claims?: Record<string, unknown>): Promise<string>;
  createTenant(id: string, extra?: Record<string, unknown>): Promise<void>;
  putSecret(tenant: string, name: string, value: string): Promise<void>;
  putVariable(tenant: string, name: string, value: string): Promise<void>;
  createConnector(tenant: string, def: Record<string, unknown> & { name: string; url: string }): Promise<void>;
  linkComposite(tenant: string, composites: CompositeDefinition[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The set-up most runtime test files share: a clean test Redis, a real upstream on 127.0.0.1, a
 * harness with `env` and the tenant `acme`. The caller closes both (`h.close()`, `up.close()`).
 */
export async function startRuntimeTest(env: Record<string, string | undefined> = {}): Promise<{ h: Harness; up: TestUpstream }> {
  await flushTestRedis();
  const up = await startUpstream();
  const h = await startHarness(env);
  await h.createTenant('acme');
  return { h, up };
}

export async function startHarness(env: Record<string, string | undefined> = {}): Promise<Harness> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logs.push(chunk.toString('utf8'));
      cb();
    },
  });
  const config = testConfig({ GATEHOUSE_MASTER_KEY: MASTER_KEY, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8', LOG_LEVEL: 'debug', ...env });
  const log = createLogger(config.logLevel, sink);
  const redisUrl = testRedisUrl();
  const services = await createServices({ config, log, stateUrl: redisUrl, cacheUrl: redisUrl });
  const app = await buildApp(services, { roles: { api: true, worker: false } });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });

  const admin: Harness['admin'] = async (method, path, body) => {
    const res = await fetch(`${url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed, headers: res.headers };
  };

  const h: Harness = {
    url,
    app,
    services,
    logs,
    admin,
    async exec(permalink, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.pathParams !== undefined) headers['x-path-params'] = o.pathParams;
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      const path = o.composite ? 'composite-connectors' : 'connectors';
      const res = await fetch(`${url}/t/${o.tenant ?? 'acme'}/${path}/${permalink}/execute${o.query ?? ''}`, {
        method: o.method ?? 'GET',
        headers,
        body: o.body,
      });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json, headers: res.headers };
    },
    session(claims = {}) {
      return new SignJWT({ tid: 'acme', sub: 'user-42', email: 'jo@example.com', first_name: 'Jo', last_name: 'Doe', username: 'jodoe', profile_fields: { '42': 'Sales' }, ...claims })
        .setProtectedHeader({ alg: 'HS256' })
        .setExpirationTime('5m')
        .sign(new TextEncoder().encode(SESSION_SECRET));
    },
    async createTenant(id, extra = {}) {
      const r = await admin('PUT', `/tenants/${id}`, { name: id, session: { alg: 'HS256', secret: SESSION_SECRET }, allowed_origins: ['https://widgets.example'], ...extra });
      if (r.status >= 300) throw new Error(`tenant: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async putSecret(tenant, name, value) {
      const r = await admin('PUT', `/tenants/${tenant}/secrets/${name}`, { value });
      if (r.status >= 300) throw new Error(`secret: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async putVariable(tenant, name, value) {
      const r = await admin('PUT', `/tenants/${tenant}/variables/${name}`, { value });
      if (r.status >= 300) throw new Error(`variable: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async createConnector(tenant, def) {
      const r = await admin('POST', `/tenants/${tenant}/connectors`, def);
      if (r.status >= 300) throw new Error(`connector: ${r.status} ${JSON.stringify(r.body)}`);
    },
    async linkComposite(tenant, composites) {
      await services.registry.replaceLink(tenant, 'acme/widgets', { connectors: [], composites, commitSha: 'a'.repeat(40) });
    },
    async close() {
      await app.close();
      await services.close();
    },
  };
  return h;
}

/** A composite step with the registry defaults applied. */
export function step(s: { name: string; url: string } & Partial<CompositeDefinition['steps'][number]>): CompositeDefinition['steps'][number] {
  return { method: 'GET', headers: [], query_parameters: [], authentication: { type: 'none' }, request_body: '', response_body: '', response_content_type: '', ...s };
}
