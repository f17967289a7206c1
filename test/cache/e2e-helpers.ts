import { SignJWT } from 'jose';
import { testRedisUrl } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';

/**
 * The real app (execute route, admin API) for the cache's end-to-end tests. State lives in db 0 of
 * the slot's test Redis and the response cache in db 1, so a scan of db 1 sees exactly what the cache
 * Redis holds (the token cache shares it, as in production).
 */

export const SESSION_SECRET = 'cache-e2e-session-secret-0123456789';

export interface App {
  svc: TestService;
  url: string;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  exec(permalink: string, o?: { method?: string; query?: string; headers?: Record<string, string>; token?: string; body?: string }): Promise<{ status: number; text: string; headers: Headers }>;
  close(): Promise<void>;
}

export const CACHE_DB = 1;

export async function startApp(): Promise<App> {
  const svc = await startTestService({
    env: { UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8', CACHE_REDIS_URL: testRedisUrl(CACHE_DB) },
  });
  const admin: App['admin'] = async (method, path, body) => {
    const res = await fetch(`${svc.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed };
  };
  return {
    svc,
    url: svc.url,
    admin,
    async exec(permalink, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token !== undefined) headers.authorization = `Bearer ${o.token}`;
      const res = await fetch(`${svc.url}/t/acme/connectors/${permalink}/execute${o.query ?? ''}`, { method: o.method ?? 'GET', headers, body: o.body });
      return { status: res.status, text: await res.text(), headers: res.headers };
    },
    close: () => svc.close(),
  };
}

export async function ok<T extends { status: number; body: any }>(p: Promise<T>, what: string): Promise<T> {
  const r = await p;
  if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

export function session(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT({ tid: 'acme', ...claims })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime('5m')
    .sign(new TextEncoder().encode(SESSION_SECRET));
}

export function timing(headers: Headers): { json: any; server: string } {
  return { json: JSON.parse(headers.get('x-connector-timing') ?? '{}'), server: headers.get('server-timing') ?? '' };
}
