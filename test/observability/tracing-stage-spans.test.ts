import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/config.js';
import { STAGE_ORDER } from '../../src/runtime/pipeline.js';
import { startHarness, type Harness } from '../runtime/harness.js';
import { KIND, startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { flushTestRedis } from '../support/redis.js';
import { routeOkAndBoom, startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * TRACE_STAGE_SPANS=io, the default: a sampled execution's stage gets a span of its own only when
 * it waited (Redis, the upstream …), made an outbound request, took 1 ms or more, or failed. Every
 * stage's duration is on the execute span (`gatehouse.stage_durations_us`), in the order the
 * stages ran. (test/observability/tracing.test.ts runs with `all`: a span for every stage.)
 */

/** A response template that runs well over 1 ms without waiting for anything. */
const SLOW_TEMPLATE = '{% set n = namespace(c=0) %}{% for i in range(400) %}{% for j in range(500) %}{% set n.c = n.c + 1 %}{% endfor %}{% endfor %}{{ n.c }}';

describe('tracing with TRACE_STAGE_SPANS=io (the default)', () => {
  let h: Harness;
  let up: TestUpstream;
  let otlp: OtlpReceiver;
  const flush = () => h.services.tracing!.flush();

  beforeAll(async () => {
    await flushTestRedis();
    otlp = await startOtlpReceiver();
    up = await startUpstream();
    routeOkAndBoom(up);
    h = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '20' });
    await h.createTenant('acme');
    await h.createConnector('acme', { name: 'Ok', url: `${up.url}/ok` });
    await h.createConnector('acme', { name: 'Slow Template', url: `${up.url}/ok`, response_body: SLOW_TEMPLATE });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
    await otlp?.close();
  });

  /** The server span of one request and, once `settled` says the trace is complete, every span of its trace. */
  async function traceOf(requestId: string, settled: (spans: ReceivedSpan[]) => boolean): Promise<{ server: ReceivedSpan; spans: ReceivedSpan[] }> {
    const server = await otlp.waitFor((all) => all.find((s) => s.kind === KIND.server && s.attributes['gatehouse.request_id'] === requestId), `the server span of request ${requestId}`, flush);
    const spans = await otlp.waitFor((all) => {
      const t = all.filter((s) => s.traceId === server.traceId);
      return settled(t) ? t : undefined;
    }, `the spans of trace ${server.traceId}`, flush);
    return { server, spans };
  }

  const stageSpans = (server: ReceivedSpan, spans: ReceivedSpan[]) => spans.filter((s) => s.parentSpanId === server.spanId && s.kind === KIND.internal);

  /** `gatehouse.stage_durations_us` read back: stage names in order, each with whole microseconds. */
  function durations(server: ReceivedSpan): Array<[string, number]> {
    const text = server.attributes['gatehouse.stage_durations_us'];
    expect(typeof text).toBe('string');
    return String(text)
      .split(' ')
      .map((part) => {
        const m = /^([a-z/-]+)=(\d+)$/.exec(part);
        expect(m, `"${part}" in ${String(text)}`).not.toBeNull();
        return [m![1]!, Number(m![2])];
      });
  }

  it('is the default: TRACE_STAGE_SPANS unset is io; an unknown value is a configuration error naming the setting', () => {
    const base = { GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), GATEHOUSE_HOME: mkdtempSync(join(tmpdir(), 'gh-trace-')), OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url };
    expect(loadConfig(base).tracing?.stageSpans).toBe('io');
    expect(loadConfig({ ...base, TRACE_STAGE_SPANS: 'ALL' }).tracing?.stageSpans).toBe('all');
    expect(() => loadConfig({ ...base, TRACE_STAGE_SPANS: 'some' })).toThrow(ConfigError);
    try {
      loadConfig({ ...base, TRACE_STAGE_SPANS: 'some' });
    } catch (err) {
      expect((err as ConfigError).problems).toContain('TRACE_STAGE_SPANS: "some" is not one of io, all');
    }
  });

  it('a miss: the upstream stage, which waited, is a span with the client span under it; every stage is timed on the execute span', async () => {
    const res = await h.exec('ok');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-cache')).toBe('MISS');
    const { server, spans } = await traceOf(res.headers.get('x-request-id')!, (t) => t.some((s) => s.kind === KIND.client));
    const stages = stageSpans(server, spans);
    const upstream = stages.find((s) => s.name === 'stage upstream');
    expect(upstream).toBeDefined();
    expect(spans.filter((s) => s.kind === KIND.client).map((s) => s.parentSpanId)).toEqual([upstream!.spanId]);
    // Only stages that waited (or were slow) have spans: far fewer than the stages that ran.
    expect(stages.length).toBeLessThan(STAGE_ORDER.length / 2);
    const timed = durations(server);
    expect(timed.map(([name]) => name)).toEqual(STAGE_ORDER);
    const upstreamUs = timed.find(([name]) => name === 'upstream')![1];
    expect(Number(upstream!.endNs - upstream!.startNs) / 1000).toBeGreaterThanOrEqual(upstreamUs - 1);
  });

  it('a cache hit from memory waits for nothing: the execute span alone, with every stage timed on it', async () => {
    const res = await h.exec('ok');
    expect(res.headers.get('x-cache')).toBe('HIT');
    const requestId = res.headers.get('x-request-id')!;
    // A later request's trace arriving means this one's spans were exported too (one exporter, in order).
    const { server } = await traceOf(requestId, () => true);
    const marker = await h.exec('no-such-connector');
    await traceOf(marker.headers.get('x-request-id')!, (t) => t.some((s) => s.name === 'stage load'));
    expect(stageSpans(server, otlp.spans.filter((s) => s.traceId === server.traceId))).toEqual([]);
    expect(durations(server).map(([name]) => name)).toEqual(STAGE_ORDER);
    expect(server.attributes['gatehouse.cache']).toBe('HIT');
  });

  it('a failing stage is a span with the error, though it did not wait; the stages after it did not run', async () => {
    const res = await h.exec('no-such-connector');
    expect(res.status).toBe(404);
    const { server, spans } = await traceOf(res.headers.get('x-request-id')!, (t) => t.some((s) => s.name === 'stage load'));
    const load = stageSpans(server, spans).find((s) => s.name === 'stage load')!;
    expect(load.statusCode).toBe(2);
    expect(load.attributes['error.type']).toBe('CONNECTOR_NOT_FOUND');
    expect(durations(server).map(([name]) => name)).toEqual(STAGE_ORDER.slice(0, STAGE_ORDER.indexOf('load') + 1));
  });

  it('a stage that ran 1 ms or more without waiting (a heavy response template) gets its span', async () => {
    const res = await h.exec('slow-template');
    expect(res.status).toBe(200);
    expect(res.text).toBe('200000');
    const { server, spans } = await traceOf(res.headers.get('x-request-id')!, (t) => t.some((s) => s.name === 'stage response-body'));
    const body = stageSpans(server, spans).find((s) => s.name === 'stage response-body')!;
    expect(Number(body.endNs - body.startNs)).toBeGreaterThanOrEqual(1_000_000);
    expect(durations(server).find(([name]) => name === 'response-body')![1]).toBeGreaterThanOrEqual(1000);
  });
});

describe('a ratio sampler, for traces that start at Gatehouse', () => {
  let h: Harness;
  let up: TestUpstream;
  let otlp: OtlpReceiver;

  beforeAll(async () => {
    await flushTestRedis();
    otlp = await startOtlpReceiver();
    up = await startUpstream();
    up.route('/fresh', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
      res.end('{"fresh":true}');
    });
    h = await startHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url, OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' });
    await h.createTenant('acme');
    await h.createConnector('acme', { name: 'Fresh', url: `${up.url}/fresh` });
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
    await otlp?.close();
  });

  it('samples about the ratio; an unsampled execution records nothing and still sends its own trace context, not sampled, upstream', async () => {
    const CALLS = 200;
    for (let i = 0; i < CALLS; i++) expect((await h.exec('fresh')).status).toBe(200);
    const sent = up.requests.map((r) => /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/.exec(String(r.headers.traceparent)));
    expect(sent.every((m) => m !== null)).toBe(true);
    const sampled = sent.filter((m) => m![3] === "01");
    const unsampled = sent.filter((m) => m![3] === '00');
    // 200 draws at 0.5: outside 60–140 with a probability below 1e-8.
    expect(sampled.length).toBeGreaterThan(60);
    expect(unsampled.length).toBeGreaterThan(60);
    // Every sampled call's client span arrives; then nothing of an unsampled trace was recorded.
    await otlp.waitFor((all) => (sampled.every((m) => all.some((s) => s.kind === KIND.client && s.spanId === m![2])) ? true : undefined), 'the client span of every sampled call', () => h.services.tracing!.flush());
    const unsampledTraces = new Set(unsampled.map((m) => m![1]));
    expect(unsampledTraces.size).toBe(unsampled.length);
    expect(otlp.spans.filter((s) => unsampledTraces.has(s.traceId))).toEqual([]);
    expect(new Set(otlp.spans.filter((s) => s.kind === KIND.server).map((s) => s.traceId)).size).toBe(sampled.length);
  });
});
