import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../runtime/harness.js';
import { scrape, value } from '../support/metrics.js';
import { flushTestRedis } from '../support/redis.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * Bad input: an OTLP endpoint that never answers (or refuses connections) never slows or fails
 * an execution. Spans beyond the bounded queue are dropped and counted; failed exports are counted;
 * shutting down does not wait for the endpoint. And with tracing off the SDK is never loaded.
 */

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as { port: number }).port;
}

describe('an unreachable OTLP endpoint', () => {
  let up: TestUpstream;
  let blackhole: Server;
  const held: Socket[] = [];
  let blackholeUrl: string;
  let refusedUrl: string;

  beforeAll(async () => {
    await flushTestRedis();
    up = await startUpstream();
    // Accepts connections and reads requests, never answers: every export hangs until its timeout.
    blackhole = createServer((socket) => {
      held.push(socket);
      socket.on('data', () => undefined);
      socket.on('error', () => undefined);
    });
    blackholeUrl = `http://127.0.0.1:${await listen(blackhole)}`;
    const probe = createServer();
    refusedUrl = `http://127.0.0.1:${await listen(probe)}`;
    await new Promise<void>((r) => probe.close(() => r()));
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    blackhole?.close();
    await up?.close();
  });

  async function setUp(env: Record<string, string>): Promise<Harness> {
    const h = await startHarness({ OTEL_BSP_SCHEDULE_DELAY: '10', ...env });
    await flushTestRedis();
    await h.createTenant('acme');
    await h.createConnector('acme', { name: 'Echo', url: `${up.url}/echo` });
    return h;
  }

  it('a hanging endpoint: every execution answers while exports hang; spans past the queue are dropped and counted; shutdown is bounded', async () => {
    // TRACE_STAGE_SPANS=all: a span per stage, so a few executions overflow the queue.
    const h = await setUp({ OTEL_EXPORTER_OTLP_ENDPOINT: blackholeUrl, OTEL_BSP_MAX_QUEUE_SIZE: '8', OTEL_EXPORTER_OTLP_TIMEOUT: '600000', TRACE_STAGE_SPANS: 'all' });
    let closed = false;
    try {
      // Each execution makes ~22 spans: the first export (≤ 8 spans) hangs, the queue fills at once.
      const answers = await Promise.all(Array.from({ length: 10 }, () => h.exec('echo')));
      expect(answers.map((a) => a.status)).toEqual(Array(10).fill(200));
      // The exporter is still waiting for the endpoint — and requests kept being answered.
      await expect.poll(() => held.length).toBeGreaterThan(0);
      for (let i = 0; i < 5; i++) expect((await h.exec('echo')).status).toBe(200);
      const m = await scrape(h.url);
      expect(value(m, 'gatehouse_trace_spans_dropped_total', { reason: 'queue_full' })).toBeGreaterThan(100);
      expect(value(m, 'gatehouse_trace_spans_exported_total')).toBe(0);
      // Shutdown gives up on the endpoint after its bounded wait instead of the 10-minute export timeout.
      await h.close();
      closed = true;
    } finally {
      if (!closed) await h.close();
    }
  });

  it('a refused endpoint: executions answer, the failed exports are counted', async () => {
    const h = await setUp({ OTEL_EXPORTER_OTLP_ENDPOINT: refusedUrl, OTEL_EXPORTER_OTLP_TIMEOUT: '2000' });
    try {
      for (let i = 0; i < 3; i++) expect((await h.exec('echo')).status).toBe(200);
      await expect.poll(async () => value(await scrape(h.url), 'gatehouse_trace_spans_dropped_total', { reason: 'export_failed' }), { timeout: 30_000, interval: 200 }).toBeGreaterThan(0);
      expect(h.logs.some((l) => l.includes('trace spans could not be exported'))).toBe(true);
    } finally {
      await h.close();
    }
  });
});

describe('tracing off costs no start-up time', () => {
  it('building the app without OTEL_* settings loads none of the OpenTelemetry SDK; with them, it is loaded', () => {
    // A fresh Node process on the built code: CommonJS modules (the OpenTelemetry packages) land in require.cache.
    const script = (tracingOn: boolean) => `
      const { createRequire } = await import('node:module');
      const require = createRequire(import.meta.url);
      const { loadConfig } = await import('./dist/src/config.js');
      const { startTracing } = await import('./dist/src/observability/tracing.js');
      await import('./dist/src/app.js');
      await import('./dist/src/services.js');
      const { GatehouseMetrics } = await import('./dist/src/observability/metrics.js');
      const { Registry } = await import('prom-client');
      const { createLogger } = await import('./dist/src/logger.js');
      const env = { GATEHOUSE_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'), GATEHOUSE_ADMIN_TOKEN: 'x'.repeat(32), GATEHOUSE_HOME: '/tmp' ${tracingOn ? ", OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9'" : ''} };
      const tracing = await startTracing(loadConfig(env), new GatehouseMetrics(new Registry(), { maxConnectorSeries: 10 }), createLogger('silent'));
      // @opentelemetry/api itself comes with prom-client; the SDK, exporter and resources must not.
      const loaded = Object.keys(require.cache).filter((k) => k.includes('@opentelemetry/') && !k.includes('@opentelemetry/api/')).length;
      await tracing?.shutdown();
      console.log(JSON.stringify({ on: tracing !== undefined, loaded }));
    `;
    const run = (on: boolean) => JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script(on)], { cwd: process.cwd(), encoding: 'utf8' }).trim().split('\n').at(-1)!) as { on: boolean; loaded: number };
    expect(run(false)).toEqual({ on: false, loaded: 0 });
    const on = run(true);
    expect(on.on).toBe(true);
    expect(on.loaded).toBeGreaterThan(0);
  });
});
