import { createHmac } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startRedisServer, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';

/**
 * Redis going away is an outage, not a bug: every surface answers 503 SERVICE_UNAVAILABLE with
 * Retry-After (in its own envelope, with X-Request-ID), nothing crashes, and the service recovers by
 * itself when Redis is back.
 */

const WEBHOOK_SECRET = 'outage-webhook-secret';

describe('Redis outage', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gh-outage-'));
  let port: number;
  let redis: EmbeddedRedis | undefined;
  let svc: TestService;
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${svc.url}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    port = await freePort();
    redis = await startRedisServer({ dataDir, port });
    svc = await startTestService({ env: { REDIS_URL: redis.url, GITHUB_WEBHOOK_SECRET: WEBHOOK_SECRET, UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' } });
    expect((await admin('PUT', '/tenants/acme', { name: 'Acme', allowed_origins: [] })).status).toBe(201);
    expect((await admin('POST', '/tenants/acme/connectors', { name: 'Echo', url: 'http://127.0.0.1:9/x' })).status).toBe(201);
  });

  afterAll(async () => {
    await svc?.close();
    await redis?.stop();
  });

  it('answers 503 SERVICE_UNAVAILABLE with Retry-After on execute, admin and webhooks while Redis is down, then recovers', async () => {
    await redis!.stop();
    redis = undefined;

    const payload = JSON.stringify({ ref: 'refs/heads/main', after: 'a'.repeat(40), repository: { full_name: 'octo/reg' } });
    // in parallel: each waits out the client's bounded retries
    const [exec, listing, hook] = await Promise.all([
      fetch(`${svc.url}/t/acme/connectors/echo/execute?fresh=1`),
      admin('GET', '/tenants/acme/secrets'),
      fetch(`${svc.url}/webhooks/github`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'push',
          'x-github-delivery': 'outage-1',
          'x-hub-signature-256': `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(payload).digest('hex')}`,
        },
        body: payload,
      }),
    ]);

    expect(exec.status).toBe(503);
    expect(exec.headers.get('retry-after')).toBe('5');
    expect(exec.headers.get('x-request-id')).toBeTruthy();
    expect(exec.headers.get('x-cache')).toBeTruthy();
    expect(await exec.json()).toMatchObject({ success: false, errors: { code: 'SERVICE_UNAVAILABLE' } });

    expect(listing.status).toBe(503);
    expect(listing.headers.get('retry-after')).toBe('5');
    expect(await listing.json()).toEqual({ error: { code: 'SERVICE_UNAVAILABLE', message: expect.stringContaining('Redis') } });

    expect(hook.status).toBe(503);
    expect(hook.headers.get('retry-after')).toBe('5');

    expect((await fetch(`${svc.url}/readyz`)).status).toBe(503);
    expect((await fetch(`${svc.url}/healthz`)).status).toBe(200);

    // Redis back (same port, same AOF data): the service reconnects by itself.
    redis = await startRedisServer({ dataDir, port });
    const deadline = Date.now() + 15_000;
    while ((await fetch(`${svc.url}/readyz`)).status !== 200) {
      if (Date.now() > deadline) throw new Error('the service did not recover after Redis came back');
      await new Promise((r) => setTimeout(r, 100));
    }
    const after = await admin('GET', '/tenants/acme');
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ id: 'acme', name: 'Acme' });
  }, 60_000);
});
