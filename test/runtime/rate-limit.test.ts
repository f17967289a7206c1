import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';
import { startHarness, type Harness } from './harness.js';

describe('per-tenant rate limit and per-user limit, both off unless the tenant sets them', () => {
  let h: Harness;
  let h2: Harness;
  let up: TestUpstream;
  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    h = await startHarness();
    h2 = await startHarness();
    await h.createTenant('acme', { rate_limit_per_minute: 5 });
    await h.createTenant('free');
    await h.createTenant('users', { rate_limit_per_user_per_minute: 3 });
    await h.createConnector('users', { name: 'Ping', url: `${up.url}/ping` });
    await h.createConnector('acme', { name: 'Ping', url: `${up.url}/ping` });
    await h.createConnector('free', { name: 'Ping', url: `${up.url}/ping` });
  });
  afterAll(async () => {
    await h.close();
    await h2.close();
    await up.close();
  });

  it('counts across processes and answers 429 RATE_LIMITED with Retry-After once over the limit', async () => {
    // Start at the beginning of a window so the five calls cannot straddle two minutes.
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 3000) await new Promise((r) => setTimeout(r, msLeft + 50));
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await (i % 2 ? h2 : h).exec('ping')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 200]);
    const limited = await h2.exec('ping');
    expect(limited.status).toBe(429);
    expect(limited.json.errors.code).toBe('RATE_LIMITED');
    const retry = Number(limited.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect(limited.headers.get('x-connector-timing')).toBeTruthy();
  });

  it('is off for a tenant without rate_limit_per_minute', async () => {
    for (let i = 0; i < 12; i++) expect((await h.exec('ping', { tenant: 'free' })).status).toBe(200);
  });

  it('rate_limit_per_user_per_minute limits each signed-in user on its own; anonymous callers count only toward the tenant limit', async () => {
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 3000) await new Promise((r) => setTimeout(r, msLeft + 50));
    const alice = await h.session({ tid: 'users', sub: 'alice' });
    const bob = await h.session({ tid: 'users', sub: 'bob' });
    const before = up.requests.length;
    for (let i = 0; i < 3; i++) expect((await (i % 2 ? h2 : h).exec('ping', { tenant: 'users', token: alice })).status).toBe(200);
    const limited = await h2.exec('ping', { tenant: 'users', token: alice });
    expect(limited.status).toBe(429);
    expect(limited.json.errors).toMatchObject({ code: 'RATE_LIMITED', detail: 'this user is over the limit of 3 executions per minute per user' });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('x-request-id')).toBeTruthy();
    // the limited call never reached the upstream
    expect(up.requests.length - before).toBe(3);
    expect((await h.exec('ping', { tenant: 'users', token: bob })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await h.exec('ping', { tenant: 'users' })).status).toBe(200);
    // the key holds a digest of the user id, never the id itself
    const keys = await h.services.cacheRedis.keys('gh:{t:users}:rlu:*');
    expect(keys.length).toBe(2);
    for (const k of keys) expect(k).not.toMatch(/alice|bob/);
  });
});
