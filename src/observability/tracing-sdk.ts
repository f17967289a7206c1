import type { IncomingHttpHeaders } from 'node:http';
import { defaultTextMapGetter, defaultTextMapSetter, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  RandomIdGenerator,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Sampler,
  type SpanExporter,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_HTTP_ROUTE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
  ATTR_SERVICE_NAME,
  ATTR_URL_SCHEME,
} from '@opentelemetry/semantic-conventions';
import type { TracingConfig } from '../config.js';
import type { Logger } from '../logger.js';
import type { StageEnd } from '../runtime/context.js';
import type { StepRef } from '../runtime/errors.js';
import type { GatehouseMetrics } from './metrics.js';
import type { CallTrace, ExecuteStart, OutboundKind, OutboundSpan, OutboundTrace, SpanAttributes, SpanScope, TraceCarrier, Tracing } from './tracing.js';

/**
 * The OpenTelemetry SDK behind `Tracing` (loaded by startTracing only when tracing is on).
 *
 * One tracer provider per process, never registered globally: spans are created from explicit
 * parent contexts handed along (the call, the job), so no context manager runs on the request path.
 * Spans go through a BatchSpanProcessor with a bounded queue: when the OTLP endpoint is slow or
 * gone, finished spans beyond OTEL_BSP_MAX_QUEUE_SIZE are dropped and counted
 * (gatehouse_trace_spans_dropped_total{reason="queue_full"}); failed exports are counted as
 * reason="export_failed". Requests never wait for an export.
 *
 * Attributes never hold secrets: no header values, no query strings, no URL paths (a path may
 * carry a key), no error messages (they may quote data) — only names, codes, hosts and statuses.
 */

/** How long a shutdown waits for the last spans to be sent. */
const SHUTDOWN_FLUSH_MS = 2000;
/** At most one warning per this interval about failed exports. */
const EXPORT_WARN_INTERVAL_MS = 60_000;

const propagator = new W3CTraceContextPropagator();

export function createTracing(config: TracingConfig, metrics: GatehouseMetrics, log: Logger): Tracing {
  const queue = new ExportQueue(config.maxQueueSize, metrics, log);
  const inner: SpanExporter = config.exporter.kind === 'console' ? new ConsoleSpanExporter() : new OTLPTraceExporter({ url: config.exporter.url, timeoutMillis: config.exportTimeoutMs });
  const exporter = queue.wrap(inner);
  const batch = new BatchSpanProcessor(exporter, {
    maxQueueSize: config.maxQueueSize,
    maxExportBatchSize: Math.min(config.maxExportBatchSize, config.maxQueueSize),
    scheduledDelayMillis: config.scheduleDelayMs,
    // The exporter's own timeout ends an export first; this only unblocks the next batch.
    exportTimeoutMillis: config.exportTimeoutMs + 1000,
  });
  const resource = resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName });
  const processor = queue.processor(batch);
  const provider = new BasicTracerProvider({ resource, sampler: samplerOf(config), spanProcessors: [processor] });
  // Executions that start a trace here draw their sampling decision themselves (SdkTracing.execute);
  // the ones drawn are traced by this tracer, which records every span (same processor, same export).
  const drawn = new BasicTracerProvider({ resource, sampler: new AlwaysOnSampler(), spanProcessors: [processor] });
  return new SdkTracing(provider.getTracer('gatehouse'), drawn.getTracer('gatehouse'), config.stageSpans, config.sampleRatio, provider, log);
}

function samplerOf(config: TracingConfig): Sampler {
  const root = config.sampleRatio >= 1 ? new AlwaysOnSampler() : config.sampleRatio <= 0 ? new AlwaysOffSampler() : new TraceIdRatioBasedSampler(config.sampleRatio);
  return config.parentBased ? new ParentBasedSampler({ root }) : root;
}

/**
 * Counts spans between "finished" and "handed to the exporter" and refuses new ones past the
 * queue size, so every dropped span is counted (the BatchSpanProcessor would drop them silently).
 */
class ExportQueue {
  private waiting = 0;
  private lastWarning = 0;

  constructor(
    private readonly max: number,
    private readonly metrics: GatehouseMetrics,
    private readonly log: Logger,
  ) {}

  processor(batch: SpanProcessor): SpanProcessor {
    return {
      onStart: (span, parent) => batch.onStart(span, parent),
      onEnd: (span: ReadableSpan) => {
        if ((span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
        if (this.waiting >= this.max) {
          this.metrics.spansDropped.inc({ reason: 'queue_full' });
          return;
        }
        this.waiting++;
        batch.onEnd(span);
      },
      forceFlush: () => batch.forceFlush(),
      shutdown: () => batch.shutdown(),
    };
  }

  wrap(exporter: SpanExporter): SpanExporter {
    return {
      export: (spans: ReadableSpan[], done: (result: ExportResult) => void) => {
        this.waiting = Math.max(0, this.waiting - spans.length);
        exporter.export(spans, (result) => {
          if (result.code === ExportResultCode.SUCCESS) this.metrics.spansExported.inc(spans.length);
          else this.failed(spans.length, result.error);
          done(result);
        });
      },
      shutdown: () => exporter.shutdown(),
      ...(exporter.forceFlush !== undefined ? { forceFlush: () => exporter.forceFlush!() } : {}),
    };
  }

  private failed(count: number, error: Error | undefined): void {
    this.metrics.spansDropped.inc({ reason: 'export_failed' }, count);
    const now = Date.now();
    if (now - this.lastWarning < EXPORT_WARN_INTERVAL_MS) return;
    this.lastWarning = now;
    this.log.warn({ err: { message: error?.message ?? 'export failed' }, spans: count }, 'trace spans could not be exported to the OTLP endpoint (dropped; counted in gatehouse_trace_spans_dropped_total)');
  }
}

/** Only the W3C fields of a carrier (job data is not trusted to hold nothing else). */
function w3c(carrier: TraceCarrier | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof carrier?.traceparent === 'string') out.traceparent = carrier.traceparent;
  if (typeof carrier?.tracestate === 'string') out.tracestate = carrier.tracestate;
  return out;
}

function extract(headers: IncomingHttpHeaders | Record<string, string>): Context {
  return propagator.extract(ROOT_CONTEXT, headers, defaultTextMapGetter);
}

function inject(ctx: Context): Record<string, string> {
  const out: Record<string, string> = {};
  propagator.inject(ctx, out, defaultTextMapSetter);
  return out;
}

/** What a failure is called on a span: an error code or class name, never its message. */
function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const e = error as { code?: unknown; kind?: unknown; name?: unknown };
    if (typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{1,63}$/.test(e.code)) return e.code;
    if (typeof e.name === 'string' && e.name !== '') return e.name;
  }
  return 'Error';
}

function fail(span: Span, error: unknown): void {
  const type = errorType(error);
  span.setAttribute(ATTR_ERROR_TYPE, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** `GET /t/:tenant/connectors/:permalink/execute`: a server span's name, made once per method and route. */
const serverSpanNames = new Map<string, Map<string, string>>();
function serverSpanName(method: string, route: string): string {
  let byRoute = serverSpanNames.get(method);
  if (byRoute === undefined) {
    // Unknown methods reach the execute route too (answered 405): only the standard ones get a cached name.
    if (!HTTP_METHODS.has(method)) return `${method} ${route}`;
    byRoute = new Map();
    serverSpanNames.set(method, byRoute);
  }
  let name = byRoute.get(route);
  if (name === undefined) {
    name = `${method} ${route}`;
    byRoute.set(route, name);
  }
  return name;
}

/** Trace and span ids of unsampled executions whose context an outbound request carries. */
const ids = new RandomIdGenerator();

class SdkTracing implements Tracing {
  constructor(
    readonly tracer: Tracer,
    /** Records every span: the tracer of executions whose sampling was drawn in `execute`. */
    private readonly drawnTracer: Tracer,
    readonly stageSpans: TracingConfig['stageSpans'],
    /** The fraction of traces that start here which are sampled (every configured sampler applies one to them). */
    private readonly rootRatio: number,
    private readonly provider: BasicTracerProvider,
    private readonly log: Logger,
  ) {}

  execute(start: ExecuteStart): CallTrace {
    // Most callers send no trace context, and most of their executions are not sampled at a ratio:
    // the ratio is drawn here, before the SDK would generate and format a trace id and a span id
    // and parse the trace id back for the same decision (2–5 µs per request in the benchmark). A
    // root span's trace id is uniformly random, so drawing the decision directly samples the same
    // fraction; the ids are made only if an outbound request needs the trace context. A drawn trace
    // is made by a tracer that records all its spans: the configured sampler would draw again (and
    // a non-parent-based ratio sampler would test each child span's trace id).
    let tracer = this.tracer;
    if (start.headers.traceparent === undefined && this.rootRatio < 1) {
      if (Math.random() >= this.rootRatio) return new Unsampled(newRootContext);
      tracer = this.drawnTracer;
    }
    const parent = start.headers.traceparent === undefined ? ROOT_CONTEXT : extract(start.headers);
    // The span starts without attributes: the samplers Gatehouse offers (ratio, parent-based) never
    // read them, and the 90 % not sampled at a 10 % ratio then cost no attribute object and no copy.
    const span = tracer.startSpan(serverSpanName(start.method, start.route), { kind: SpanKind.SERVER }, parent);
    // Not sampled (the caller's trace says so, or the configured sampler): the span only carries the context.
    if (!span.isRecording()) return new Unsampled(() => trace.setSpan(parent, span));
    span.setAttributes({
      [ATTR_HTTP_REQUEST_METHOD]: start.method,
      [ATTR_HTTP_ROUTE]: start.route,
      'gatehouse.tenant': start.tenant,
      'gatehouse.connector': start.permalink,
      'gatehouse.request_id': start.requestId,
    });
    return new ExecuteTrace(this, tracer, span, parent);
  }

  server(name: string, headers: IncomingHttpHeaders, attributes: SpanAttributes): SpanScope {
    const parent = extract(headers);
    const span = this.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
    return new Scope(this.tracer, span, trace.setSpan(parent, span));
  }

  job(queue: string, jobName: string, carrier: TraceCarrier | undefined, attributes: SpanAttributes): SpanScope {
    const parent = extract(w3c(carrier));
    const span = this.tracer.startSpan(
      `process ${queue}`,
      { kind: SpanKind.CONSUMER, attributes: { 'messaging.system': 'bullmq', 'messaging.destination.name': queue, 'messaging.operation.type': 'process', 'gatehouse.job': jobName, ...attributes } },
      parent,
    );
    return new Scope(this.tracer, span, trace.setSpan(parent, span));
  }

  /** The client span of one outbound request, child of `parent`. */
  outbound(tracer: Tracer, parent: Context, kind: OutboundKind, method: string, url: URL, propagate: boolean): OutboundSpan {
    const scheme = url.protocol.slice(0, -1);
    const span = tracer.startSpan(
      kind === 'token' ? 'token request' : method,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [ATTR_HTTP_REQUEST_METHOD]: method,
          [ATTR_SERVER_ADDRESS]: url.hostname,
          [ATTR_SERVER_PORT]: url.port === '' ? (scheme === 'https' ? 443 : 80) : Number(url.port),
          [ATTR_URL_SCHEME]: scheme,
          'gatehouse.outbound': kind,
          'gatehouse.trace_propagation': propagate,
        },
      },
      parent,
    );
    const headers = propagate ? inject(trace.setSpan(parent, span)) : {};
    return {
      headers,
      end(result) {
        if ('status' in result) {
          span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, result.status);
          if (result.status >= 400) {
            span.setAttribute(ATTR_ERROR_TYPE, String(result.status));
            span.setStatus({ code: SpanStatusCode.ERROR });
          }
        } else {
          const e = result.error as { kind?: unknown; name?: unknown };
          // Upstream failures carry their kind (timeout, refused, tls …); a blocked address its class.
          fail(span, typeof e === 'object' && e !== null && typeof e.kind === 'string' ? { name: e.kind } : result.error);
        }
        span.end();
      },
    };
  }

  async flush(): Promise<void> {
    await this.provider.forceFlush();
  }

  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const bounded = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, SHUTDOWN_FLUSH_MS);
      timer.unref();
    });
    try {
      await Promise.race([this.provider.shutdown().catch((err: Error) => this.log.warn({ err: { message: err.message } }, 'tracing shutdown failed')), bounded]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A stage that ran this long without waiting still gets a span in `io` mode (a heavy template, say). */
const SLOW_STAGE_MS = 1;

/**
 * One sampled execution: the server span, the stage spans, and outbound spans under the running stage.
 *
 * Which stages get a span is TRACE_STAGE_SPANS (src/config.ts). In `io` mode a stage's span is made
 * only when it is known to be wanted: when the stage starts an outbound request (the client span
 * needs its parent then), or when it ends having waited, failed or taken SLOW_STAGE_MS — then with
 * the start time noted when it began. Every stage's duration goes into one attribute of the
 * execute span (`gatehouse.stage_durations_us`), so the stages without a span are not lost.
 * Spans cost the SDK's work and their export each: ~20 per execution made tracing at a 10 % ratio
 * cost a third of a cache hit's throughput; a hit in `io` mode records the execute span alone.
 *
 * Contexts (an immutable map copied on each change) are made only when a child span or a
 * `traceparent` needs them.
 */
class ExecuteTrace implements CallTrace {
  readonly recording = true;
  /** The running stage: its name, step, start (performance.now()) and span once made. */
  private stageName = '';
  private stageStep: StepRef | undefined;
  private stageStart = 0;
  private stage: Span | undefined;
  private stageEnd: StageEnd | undefined;
  /**
   * Epoch ms at performance.now() 0, read once per execution: stage spans are made after the fact
   * with times from performance.now(), and one offset keeps them in order (the SDK reads Date.now(),
   * of 1 ms resolution, for each span's own offset).
   */
  private readonly epochOffset: number;
  /** `name=µs` of each stage ended, space-separated (composite steps: `step/name=µs`). */
  private durations = '';
  /** The server span's context, made on first use. */
  private root: Context | undefined;
  /** The outbound tracers handed out, without and with propagation (one execution asks once per request stage). */
  private outbounds: [OutboundTrace | undefined, OutboundTrace | undefined] | undefined;

  constructor(
    private readonly tracing: SdkTracing,
    /** The tracer that made the execute span; it makes the stage and client spans too. */
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly parent: Context,
  ) {
    this.epochOffset = Date.now() - performance.now();
  }

  private rootContext(): Context {
    return (this.root ??= trace.setSpan(this.parent, this.span));
  }

  watchStage(stage: string, step: StepRef | undefined): StageEnd {
    this.stageName = stage;
    this.stageStep = step;
    this.stage = undefined;
    this.stageStart = performance.now();
    if (this.tracing.stageSpans === 'all') this.stageSpan();
    // Made on a sampled execution's first stage only: the others (most, at a ratio) never need it.
    return (this.stageEnd ??= (failed, error, waited) => this.endStage(failed, error, waited));
  }

  /** The running stage's span, made now if it was not yet (started at the stage's start). */
  private stageSpan(): Span {
    if (this.stage !== undefined) return this.stage;
    const attributes: SpanAttributes = { 'gatehouse.stage': this.stageName };
    const step = this.stageStep;
    if (step !== undefined) {
      attributes['gatehouse.step.name'] = step.name;
      attributes['gatehouse.step.index'] = step.index;
    }
    return (this.stage = this.tracer.startSpan(`stage ${this.stageName}`, { attributes, startTime: this.stageStart + this.epochOffset }, this.rootContext()));
  }

  private endStage(failed: boolean, error: unknown, waited: boolean): void {
    const end = performance.now();
    const step = this.stageStep;
    const us = Math.round((end - this.stageStart) * 1000);
    this.durations += `${this.durations === '' ? '' : ' '}${step === undefined ? '' : `${step.name}/`}${this.stageName}=${us}`;
    const span = this.stage !== undefined || failed || waited || end - this.stageStart >= SLOW_STAGE_MS ? this.stageSpan() : undefined;
    // Between stages nothing runs: an outbound request now (none is made) would hang under the execute span.
    this.stage = undefined;
    this.stageName = '';
    if (span === undefined) return;
    if (failed) fail(span, error);
    span.end(end + this.epochOffset);
  }

  outbound(propagate: boolean): OutboundTrace {
    const i = propagate ? 1 : 0;
    const cached = (this.outbounds ??= [undefined, undefined])[i];
    if (cached !== undefined) return cached;
    // The running stage's span (made now if need be) is the parent; outside a stage, the execute span.
    const made: OutboundTrace = { start: (kind, method, url) => this.tracing.outbound(this.tracer, this.stageName === '' ? this.rootContext() : trace.setSpan(this.rootContext(), this.stageSpan()), kind, method, url, propagate) };
    this.outbounds[i] = made;
    return made;
  }

  end(outcome: { status: number; cache: string; errorCode: string | undefined }): void {
    const span = this.span;
    span.setAttribute(ATTR_HTTP_RESPONSE_STATUS_CODE, outcome.status);
    span.setAttribute('gatehouse.cache', outcome.cache);
    if (this.durations !== '') span.setAttribute('gatehouse.stage_durations_us', this.durations);
    if (outcome.errorCode !== undefined) span.setAttribute('gatehouse.error_code', outcome.errorCode);
    // Server spans: only 5xx are the server's failures (4xx are the caller's).
    if (outcome.status >= 500) {
      span.setAttribute(ATTR_ERROR_TYPE, outcome.errorCode ?? String(outcome.status));
      span.setStatus({ code: SpanStatusCode.ERROR });
    }
    span.end();
  }
}

function noop(): void {}

/**
 * An execution not sampled: nothing is recorded and no client span is made. Its upstream and token
 * requests still carry its trace context, not sampled — the caller's trace with the execute span's
 * id, or for a trace that starts here new ids made on the first such request — so the upstream
 * continues the trace or not as its own sampler decides.
 */
class Unsampled implements CallTrace {
  readonly recording = false;
  private propagated: OutboundSpan | undefined;

  constructor(private readonly context: () => Context) {}

  watchStage(): StageEnd {
    return noop;
  }

  outbound(propagate: boolean): OutboundTrace {
    return propagate ? { start: () => (this.propagated ??= { headers: inject(this.context()), end: noop }) } : NO_PROPAGATION;
  }

  end(): void {}
}

/** The context of an unsampled trace that starts here: new ids, the sampled flag off. */
function newRootContext(): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { traceId: ids.generateTraceId(), spanId: ids.generateSpanId(), traceFlags: TraceFlags.NONE });
}

const NO_PROPAGATION: OutboundTrace = { start: () => UNTRACED_OUTBOUND };

/** The outbound span of an unsampled execution whose tenant turned propagation off: nothing to send or record. */
const UNTRACED_OUTBOUND: OutboundSpan = { headers: {}, end: noop };

class Scope implements SpanScope {
  readonly recording: boolean;

  constructor(
    private readonly tracer: Tracer,
    private readonly span: Span,
    private readonly ctx: Context,
  ) {
    this.recording = span.isRecording();
  }

  setAttributes(attributes: SpanAttributes): void {
    this.span.setAttributes(attributes);
  }

  async child<T>(name: string, options: { kind?: 'internal' | 'producer'; attributes?: SpanAttributes }, run: (span: SpanScope) => Promise<T>): Promise<T> {
    const span = this.tracer.startSpan(name, { kind: options.kind === 'producer' ? SpanKind.PRODUCER : SpanKind.INTERNAL, ...(options.attributes !== undefined ? { attributes: options.attributes } : {}) }, this.ctx);
    const scope = new Scope(this.tracer, span, trace.setSpan(this.ctx, span));
    try {
      const out = await run(scope);
      scope.end();
      return out;
    } catch (err) {
      scope.end(err);
      throw err;
    }
  }

  carrier(): TraceCarrier {
    return inject(this.ctx);
  }

  end(error?: unknown): void {
    if (error !== undefined) fail(this.span, error);
    this.span.end();
  }
}
