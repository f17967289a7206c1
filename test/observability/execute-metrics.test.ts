import { createServer, type Server } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../runtime/harness.js';
import { scrape, value } from '../support/metrics.js';
import { startOAuthServer, type TestOAuthServer } from '../support/oauth-server.js';
import { flushTestRedis } from '../support/redis.js';
import { routeOkAndBoom, startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * /metrics after real traffic: request counts by status class and cache result, latency
 * histograms, upstream errors by kind, token cache counters, rate-limit rejections, the
 * connector series cap — values checked, not only names. Also the usage report the dashboard
 * charts read, and the request log line (LOG_REQUESTS=all).
 */
describe('execute metrics, usage and request log', () => {
  let h: Harness;
  let up: TestUpstream;
  let oauth: TestOAuthServer;
  let closedPort: number;
  let hanging: Server;

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    routeOkAndBoom(up);
    oauth = await startOAuthServer();
    oauth.addClient({ id: 'svc', secret: 'client-secret-for-metrics', grants: ['client_credentials'] });
    // A port nothing listens on (refused), and a server that accepts and never answers (timeout).
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    hanging = createServer(() => undefined);
    await new Promise<void>((r) => hanging.listen(0, '127.0.0.1', r));

    h = await startHarness({ LOG_LEVEL: 'info', LOG_REQUESTS: 'all', UPSTREAM_TIMEOUT_MS: '5000', METRICS_MAX_CONNECTOR_SERIES: '6' });
    await h.createTenant('acme');
    await h.createTenant('limited', { rate_limit_per_minute: 1 });
    await h.putSecret('acme', 'client_secret', 'client-secret-for-metrics');
    await h.createConnector('acme', { name: 'Ok', url: `${up.url}/ok` });
    await h.createConnector('acme', { name: 'Boom', url: `${up.url}/boom` });
    await h.createConnector('acme', { name: 'Refused', url: `http://127.0.0.1:${closedPort}/x` });
    await h.createConnector('acme', { name: 'Slow', url: `http://127.0.0.1:${(hanging.address() as { port: number }).port}/x` });
    await h.createConnector('acme', {
      name: 'Resource',
      url: oauth.resourceUrl,
      authentication: { type: 'oauth_client_credentials', config: { client_id: 'svc', client_secret: "{{ get_secret('client_secret') }}", token_url: oauth.tokenUrl } },
    });
    await h.createConnector('limited', { name: 'Ok', url: `${up.url}/ok` });
    await h.createConnector('limited', { name: 'Extra', url: `${up.url}/ok` });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
    await oauth?.close();
    hanging?.close();
  });

  it('counts executions by status class and cache result, and times them', async () => {
    for (let i = 0; i < 3; i++) expect((await h.exec('ok')).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await h.exec('boom')).status).toBe(503);
    expect((await h.exec('no-such-connector')).status).toBe(404);
    const m = await scrape(h.url);
    const ok = { tenant: 'acme', connector: 'ok', method: 'GET', status_class: '2xx' };
    expect(value(m, 'gatehouse_execute_requests_total', { ...ok, cache: 'MISS' })).toBe(1);
    expect(value(m, 'gatehouse_execute_requests_total', { ...ok, cache: 'HIT' })).toBe(2);
    expect(value(m, 'gatehouse_execute_requests_total', { tenant: 'acme', connector: 'boom', status_class: '5xx' })).toBe(2);
    // An unknown permalink never becomes a label value of its own.
    expect(value(m, 'gatehouse_execute_requests_total', { tenant: 'acme', connector: '(unknown)', status_class: '4xx' })).toBe(1);
    expect(m.some((s) => s.labels.connector === 'no-such-connector')).toBe(false);
    expect(value(m, 'gatehouse_execute_duration_seconds_count', { tenant: 'acme', connector: 'ok' })).toBe(3);
    expect(value(m, 'gatehouse_execute_duration_seconds_sum', { tenant: 'acme', connector: 'ok' })).toBeGreaterThan(0);
    // Three upstream calls (the MISS and the two 503s) and five cache lookups, each timed.
    expect(value(m, 'gatehouse_execute_stage_duration_seconds_count', { stage: 'upstream' })).toBe(3);
    expect(value(m, 'gatehouse_execute_stage_duration_seconds_count', { stage: 'cache' })).toBe(5);
    expect(value(m, 'gatehouse_execute_stage_duration_seconds_count', { stage: 'template' })).toBe(6);
  });

  it('counts upstream errors by kind', async () => {
    expect((await h.exec('refused')).status).toBe(502);
    expect((await h.exec('slow')).status).toBe(502);
    const m = await scrape(h.url);
    expect(value(m, 'gatehouse_upstream_errors_total', { tenant: 'acme', connector: 'slow', kind: 'timeout' })).toBe(1);
    expect(value(m, 'gatehouse_upstream_errors_total', { tenant: 'acme', connector: 'refused', kind: 'refused' })).toBe(1);
  });

  it('counts token requests, token cache hits and single-flight waits', async () => {
    // The first call's token request is held until the other two are waiting for it.
    oauth.setTokenDelay(2500);
    const first = h.exec('resource');
    await expect.poll(() => oauth.tokenRequests.length, { timeout: 10_000 }).toBe(1);
    const others = [h.exec('resource'), h.exec('resource')];
    await expect.poll(async () => value(await scrape(h.url), 'gatehouse_token_single_flight_waits_total', { kind: 'process' }), { timeout: 10_000 }).toBe(2);
    for (const r of await Promise.all([first, ...others])) expect(r.status).toBe(200);
    oauth.setTokenDelay(0);
    expect((await h.exec('resource')).status).toBe(200);
    const m = await scrape(h.url);
    expect(value(m, 'gatehouse_token_requests_total', { outcome: 'ok' })).toBe(1);
    expect(oauth.tokenRequests.length).toBe(1);
    expect(value(m, 'gatehouse_token_single_flight_waits_total', { kind: 'process' })).toBe(2);
    expect(value(m, 'gatehouse_token_cache_lookups_total', { result: 'miss' })).toBe(1);
    expect(value(m, 'gatehouse_token_cache_lookups_total', { result: 'hit' })).toBe(1);
  });

  it('counts rate-limit rejections by tenant and scope', async () => {
    const msLeft = 60_000 - (Date.now() % 60_000);
    if (msLeft < 3000) await new Promise((r) => setTimeout(r, msLeft + 50));
    expect((await h.exec('ok', { tenant: 'limited' })).status).toBe(200);
    expect((await h.exec('ok', { tenant: 'limited' })).status).toBe(429);
    expect((await h.exec('ok', { tenant: 'limited' })).status).toBe(429);
    const m = await scrape(h.url);
    expect(value(m, 'gatehouse_rate_limited_total', { tenant: 'limited', scope: 'tenant' })).toBe(2);
  });

  it('caps per-connector series at METRICS_MAX_CONNECTOR_SERIES: later connectors are connector="other"', async () => {
    // Six pairs are taken by now (acme: ok, boom, refused, slow, resource; limited: ok).
    expect((await h.exec('extra', { tenant: 'limited' })).status).toBeGreaterThanOrEqual(200);
    const m = await scrape(h.url);
    expect(m.some((s) => s.name === 'gatehouse_execute_requests_total' && s.labels.connector === 'extra')).toBe(false);
    expect(value(m, 'gatehouse_execute_requests_total', { tenant: 'limited', connector: 'other' })).toBe(1);
    const pairs = new Set(m.filter((s) => s.name === 'gatehouse_execute_requests_total' && s.labels.connector !== 'other' && s.labels.connector !== '(unknown)').map((s) => `${s.labels.tenant}/${s.labels.connector}`));
    expect(pairs.size).toBe(6);
  });

  it('the usage report counts the same executions (requests, errors, cache hit ratio, percentiles)', async () => {
    const res = await h.admin('GET', '/tenants/acme/connectors/ok/usage?range=hour');
    expect(res.status).toBe(200);
    expect(res.body.step_s).toBe(60);
    expect(res.body.series).toHaveLength(60);
    expect(res.body.totals).toMatchObject({ requests: 3, errors_4xx: 0, errors_5xx: 0, cache_lookups: 3, cache_hits: 2 });
    expect(res.body.totals.cache_hit_ratio).toBeCloseTo(2 / 3);
    expect(res.body.totals.p95_ms).toBeGreaterThan(0);
    expect(res.body.series.reduce((n: number, p: { requests: number }) => n + p.requests, 0)).toBe(3);
    const tenant = await h.admin('GET', '/tenants/acme/usage?range=day');
    expect(tenant.body.step_s).toBe(600);
    expect(tenant.body.series).toHaveLength(144);
    const boom = tenant.body.connectors.find((c: { permalink: string }) => c.permalink === 'boom');
    expect(boom).toMatchObject({ requests: 2, errors_5xx: 2 });
    expect((await h.admin('GET', '/tenants/acme/connectors/nope/usage')).status).toBe(404);
    expect((await h.admin('GET', '/tenants/acme/usage?range=week')).status).toBe(400);
  });

  it('LOG_REQUESTS=all writes one line per execute with tenant, connector, status, cache and durations, never secrets', async () => {
    const r = await h.exec('resource', { query: '?q=visible-query-value' });
    const id = r.headers.get('x-request-id')!;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const lines = h.logs.flatMap((l) => l.split('\n')).filter((l) => l.includes(id));
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!);
    expect(line).toMatchObject({ msg: 'request completed', level: 30, request_id: id, tenant: 'acme', connector: 'resource', method: 'GET', status: 200, cache: r.headers.get('x-cache') });
    for (const k of ['total_ms', 'template_ms', 'cache_ms', 'upstream_ms']) expect(typeof line[k]).toBe('number');
    expect(lines[0]).not.toContain('client-secret-for-metrics');
    expect(lines[0]).not.toContain('visible-query-value');
    expect(h.logs.join('')).not.toContain('client-secret-for-metrics');
  });
});
