import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_ORDER } from '../../src/runtime/pipeline.js';
import { startHarness, step, type Harness } from '../runtime/harness.js';
import { scrape, value } from '../support/metrics.js';
import { startOAuthServer, type TestOAuthServer } from '../support/oauth-server.js';
import { KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * OpenTelemetry traces of executions, received by an OTLP/HTTP receiver on loopback and decoded:
 * the server span, one child span per pipeline stage, the upstream call as a client span whose
 * context is the `traceparent` the upstream received, the token request under the
 * outbound-auth stage, the per-tenant propagation switch, and no secret in any span.
 */

const API_KEY = 'api-key-value-never-in-spans-41f3';
const QUERY_SECRET = 'query-secret-never-in-spans-9c2a';
const CLIENT_SECRET = 'client-secret-never-in-spans-77b1';
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

describe('tracing of executions', () => {
  let h: Harness;
  let up: TestUpstream;
  let oauth: TestOAuthServer;
  let otlp: OtlpReceiver;
  const flush = () => h.services.tracing!.flush();

  beforeAll(async () => {
    await flushTestRedis();
    otlp = await startOtlpReceiver();
    up = await startUpstream();
    oauth = await startOAuthServer();
    oauth.addClient({ id: 'svc', secret: CLIENT_SECRET, grants: ['client_credentials'] });
    // Every stage a span (the default, io, gives spans to stages that waited, were slow or failed: tracing-stage-spans.test.ts).
    h = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_SERVICE_NAME: 'gatehouse-test', OTEL_BSP_SCHEDULE_DELAY: '20', TRACE_STAGE_SPANS: 'all' });
    await h.createTenant('acme');
    await h.createTenant('quiet', { trace_propagation: false });
    for (const t of ['acme', 'quiet']) {
      await h.putSecret(t, 'api_key', API_KEY);
      await h.putSecret(t, 'q', QUERY_SECRET);
      await h.putSecret(t, 'client_secret', CLIENT_SECRET);
      await h.createConnector(t, {
        name: 'Echo',
        url: `${up.url}/echo`,
        headers: [{ key: 'X-Api-Key', value: "{{ get_secret('api_key') }}", overridable: false }],
        query_parameters: [{ key: 'token', value: "{{ get_secret('q') }}", overridable: false }],
      });
      await h.createConnector(t, {
        name: 'Resource',
        url: oauth.resourceUrl,
        authentication: { type: 'oauth_client_credentials', config: { client_id: 'svc', client_secret: "{{ get_secret('client_secret') }}", token_url: oauth.tokenUrl } },
      });
    }
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
    await oauth?.close();
    await otlp?.close();
  });

  const inTrace = (traceId: string) => otlp.spans.filter((s) => s.traceId === traceId);
  const serverOf = (requestId: string) => (spans: ReceivedSpan[]) => spans.find((s) => s.kind === KIND.server && s.attributes['gatehouse.request_id'] === requestId);

  /** The whole trace of one execution, once its server span and `count` spans arrived. */
  async function traceOf(requestId: string, minSpans: number): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
    const server = await otlp.waitFor(serverOf(requestId), `the server span of request ${requestId}`, flush);
    const spans = await otlp.waitFor((all) => {
      const t = all.filter((s) => s.traceId === server.traceId);
      return t.length >= minSpans ? t : undefined;
    }, `${minSpans} spans of trace ${server.traceId}`, flush);
    return { server, spans };
  }

  it('a server span per execute continues the caller\'s trace; every stage is a child span; the upstream call is a client span whose context the upstream received', async () => {
    up.reset();
    const res = await h.exec('echo', { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
    expect(res.status).toBe(200);
    const requestId = res.headers.get('x-request-id')!;
    // server + every stage (preflight answers nothing for a GET) + the upstream client span
    const { server, spans } = await traceOf(requestId, 1 + STAGE_ORDER.length + 1);

    expect(server.service).toBe('gatehouse-test');
    expect(server.name).toBe('GET /t/:tenant/connectors/:permalink/execute');
    expect(server.traceId).toBe(CALLER_TRACE);
    expect(server.parentSpanId).toBe(CALLER_SPAN);
    expect(server.attributes).toMatchObject({ 'http.request.method': 'GET', 'http.route': '/t/:tenant/connectors/:permalink/execute', 'http.response.status_code': 200, 'gatehouse.tenant': 'acme', 'gatehouse.connector': 'echo', 'gatehouse.cache': 'MISS' });

    const stages = spans.filter((s) => s.parentSpanId === server.spanId && s.kind === KIND.internal).sort((a, b) => (a.startNs < b.startNs ? -1 : a.startNs > b.startNs ? 1 : 0));
    expect(stages.map((s) => s.attributes['gatehouse.stage'])).toEqual(STAGE_ORDER);
    expect(stages.map((s) => s.name)).toEqual(STAGE_ORDER.map((s) => `stage ${s}`));

    const upstreamStage = stages.find((s) => s.name === 'stage upstream')!;
    const client = spans.find((s) => s.kind === KIND.client)!;
    expect(client.parentSpanId).toBe(upstreamStage.spanId);
    expect(client.name).toBe('GET');
    expect(client.attributes).toMatchObject({ 'http.request.method': 'GET', 'server.address': '127.0.0.1', 'server.port': up.port, 'url.scheme': 'http', 'http.response.status_code': 200, 'gatehouse.outbound': 'upstream' });

    // The upstream got the client span's context: same trace, the client span as its parent.
    expect(up.requests).toHaveLength(1);
    const sent = TRACEPARENT.exec(String(up.requests[0]!.headers.traceparent));
    expect(sent).not.toBeNull();
    expect(sent![1]).toBe(CALLER_TRACE);
    expect(sent![2]).toBe(client.spanId);
  });

  it('an execution the caller did not sample records no span; the upstream still gets the caller\'s trace, not sampled, unless the tenant turned propagation off', async () => {
    const UNSAMPLED_TRACE = '5c0ffee0000000000000000000000042';
    up.reset();
    const acme = await h.exec('echo', { headers: { traceparent: `00-${UNSAMPLED_TRACE}-${CALLER_SPAN}-00` } });
    const quiet = await h.exec('echo', { tenant: 'quiet', headers: { traceparent: `00-${UNSAMPLED_TRACE}-${CALLER_SPAN}-00` } });
    expect([acme.status, quiet.status]).toEqual([200, 200]);
    expect(up.requests).toHaveLength(2);
    const sent = /^00-([0-9a-f]{32})-([0-9a-f]{16})-00$/.exec(String(up.requests[0]!.headers.traceparent));
    expect(sent).not.toBeNull();
    expect(sent![1]).toBe(UNSAMPLED_TRACE);
    expect(sent![2]).not.toBe(CALLER_SPAN);
    expect(up.requests[1]!.headers.traceparent).toBeUndefined();
    // A sampled execution after them: once its spans arrived, anything recorded before would have too.
    const after = await h.exec('echo', { headers: { traceparent: `00-${CALLER_TRACE}-${CALLER_SPAN}-01` } });
    await traceOf(after.headers.get('x-request-id')!, 1 + STAGE_ORDER.length + 1);
    expect(inTrace(UNSAMPLED_TRACE)).toEqual([]);
  });

  it('the token request is a client span under the outbound-auth stage and sends its context to the token endpoint', async () => {
    const before = oauth.tokenRequests.length;
    const res = await h.exec('resource');
    expect(res.status).toBe(200);
    expect(oauth.tokenRequests.length).toBe(before + 1);
    const { server, spans } = await traceOf(res.headers.get('x-request-id')!, 1 + STAGE_ORDER.length + 2);
    const authStage = spans.find((s) => s.name === 'stage outbound-auth' && s.parentSpanId === server.spanId)!;
    const token = spans.find((s) => s.name === 'token request')!;
    expect(token.kind).toBe(KIND.client);
    expect(token.parentSpanId).toBe(authStage.spanId);
    expect(token.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200, 'gatehouse.outbound': 'token', 'server.address': '127.0.0.1' });
    const sent = TRACEPARENT.exec(String(oauth.tokenRequestHeaders.at(-1)!.traceparent));
    expect(sent![1]).toBe(server.traceId);
    expect(sent![2]).toBe(token.spanId);
    // The upstream call still has its own client span, under the upstream stage.
    const upstreamStage = spans.find((s) => s.name === 'stage upstream')!;
    expect(spans.some((s) => s.kind === KIND.client && s.name === 'GET' && s.parentSpanId === upstreamStage.spanId)).toBe(true);
  });

  it('a tenant with trace_propagation false sends no traceparent (the client span is still recorded)', async () => {
    up.reset();
    const res = await h.exec('echo', { tenant: 'quiet' });
    expect(res.status).toBe(200);
    expect(up.requests).toHaveLength(1);
    expect(up.requests[0]!.headers.traceparent).toBeUndefined();
    expect(up.requests[0]!.headers.tracestate).toBeUndefined();
    const before = oauth.tokenRequestHeaders.length;
    expect((await h.exec('resource', { tenant: 'quiet' })).status).toBe(200);
    expect(oauth.tokenRequestHeaders.length).toBe(before + 1);
    expect(oauth.tokenRequestHeaders.at(-1)!.traceparent).toBeUndefined();
    const { spans } = await traceOf(res.headers.get('x-request-id')!, 1 + STAGE_ORDER.length + 1);
    const client = spans.find((s) => s.kind === KIND.client)!;
    expect(client.attributes['gatehouse.trace_propagation']).toBe(false);

    // The switch is a tenant setting of the admin API, validated like the others.
    expect((await h.admin('GET', '/tenants/quiet')).body.trace_propagation).toBe(false);
    expect((await h.admin('GET', '/tenants/acme')).body.trace_propagation).toBe(true);
    const bad = await h.admin('PUT', '/tenants/quiet', { name: 'quiet', trace_propagation: 'no' });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body.error.details)).toContain('/body/trace_propagation');
    // The OpenAPI document describes the setting on the tenant body and view.
    const openapi = await h.admin('GET', '/openapi.json');
    const put = openapi.body.paths['/admin/v1/tenants/{tenant}'].put;
    expect(put.requestBody.content['application/json'].schema.properties.trace_propagation).toMatchObject({ type: 'boolean' });
    expect(put.responses['200'].content['application/json'].schema.properties.trace_propagation).toMatchObject({ type: 'boolean' });
    // Turning it back on takes effect for the next execution.
    expect((await h.admin('PUT', '/tenants/quiet', { name: 'quiet', session: { alg: 'HS256' }, allowed_origins: ['https://widgets.example'], trace_propagation: true })).status).toBe(200);
    up.reset();
    await expect.poll(async () => {
      up.reset();
      await h.exec('echo', { tenant: 'quiet' });
      return up.requests[0]?.headers.traceparent;
    }).toMatch(TRACEPARENT);
  });

  it('composite steps run their request stages as child spans named by step; failures mark the stage span', async () => {
    await h.linkComposite('acme', [
      { name: 'Pair', permalink: 'pair', steps: [step({ name: 'first', url: `${up.url}/one` }), step({ name: 'second', url: `${up.url}/two` })] } as never,
    ]);
    const res = await h.exec('pair', { composite: true, method: 'POST' });
    expect(res.status).toBe(200);
    const callStages = STAGE_ORDER.indexOf('render');
    const requestStages = STAGE_ORDER.length - callStages;
    const { server, spans } = await traceOf(res.headers.get('x-request-id')!, 1 + callStages + 2 * requestStages + 2);
    expect(server.name).toBe('POST /t/:tenant/composite-connectors/:permalink/execute');
    const upstreamStages = spans.filter((s) => s.name === 'stage upstream');
    expect(upstreamStages.map((s) => [s.attributes['gatehouse.step.name'], s.attributes['gatehouse.step.index']]).sort()).toEqual([['first', 0], ['second', 1]]);
    for (const u of upstreamStages) expect(spans.filter((s) => s.kind === KIND.client && s.parentSpanId === u.spanId)).toHaveLength(1);

    const missing = await h.exec('no-such-connector');
    expect(missing.status).toBe(404);
    const failed = await traceOf(missing.headers.get('x-request-id')!, 3);
    const load = failed.spans.find((s) => s.name === 'stage load')!;
    expect(load.statusCode).toBe(2);
    expect(load.attributes['error.type']).toBe('CONNECTOR_NOT_FOUND');
    expect(failed.server.attributes['gatehouse.error_code']).toBe('CONNECTOR_NOT_FOUND');
    // A 4xx is the caller's problem: the server span is not an error.
    expect(failed.server.statusCode).not.toBe(2);
  });

  it('no secret, header value or query value ever reaches a span; spans are counted as exported', async () => {
    await flush();
    expect(otlp.bodies.length).toBeGreaterThan(0);
    expect(otlp.contentTypes.every((t) => t.startsWith('application/json'))).toBe(true);
    for (const body of otlp.bodies) {
      for (const secret of [API_KEY, QUERY_SECRET, CLIENT_SECRET, 'Bearer ', 'token=']) expect(body).not.toContain(secret);
    }
    for (const s of otlp.spans) expect(Object.keys(s.attributes).some((k) => k.startsWith('http.request.header') || k === 'url.full' || k === 'url.query')).toBe(false);
    const m = await scrape(h.url);
    expect(value(m, 'gatehouse_trace_spans_exported_total', {})).toBe(otlp.spans.length);
    expect(value(m, 'gatehouse_trace_spans_dropped_total', { reason: 'queue_full' }) ?? 0).toBe(0);
  });
});

describe('tracing off', () => {
  it('without OTEL_* settings no tracer exists and the pipeline has no stage observer', async () => {
    const h = await startHarness({});
    try {
      expect(h.services.tracing).toBeUndefined();
      const { runtimeFor } = await import('../../src/runtime/index.js');
      expect(runtimeFor(h.services).stageObservers).toHaveLength(0);
    } finally {
      await h.close();
    }
  });
});
