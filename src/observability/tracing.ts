import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { StageEnd } from '../runtime/context.js';
import type { StepRef } from '../runtime/errors.js';
import type { GatehouseMetrics } from './metrics.js';

/**
 * OpenTelemetry tracing, seen from the rest of Gatehouse. Off unless the standard OTEL_* variables
 * turn it on (src/config.ts); then `startTracing` loads the SDK (tracing-sdk.ts) — only then, so a
 * process without tracing neither pays the SDK's load time at start-up nor any tracer work per
 * request: every caller holds a `Tracing | undefined` and skips the work when it is undefined.
 *
 * Nothing here imports OpenTelemetry at run time (types only): the interfaces below are what the
 * runtime, the webhook routes and the sync workers call.
 */

/** The W3C trace context of a span as carried in job data: `traceparent` (and `tracestate`) only, never anything else. */
export interface TraceCarrier {
  traceparent?: string;
  tracestate?: string;
}

export type SpanAttributes = Record<string, string | number | boolean>;

/** A span in progress (recording, or only carrying the trace context when not sampled). */
export interface SpanScope {
  readonly recording: boolean;
  setAttributes(attributes: SpanAttributes): void;
  /** A child span around `run`: it ends when `run` settles, with an error status when `run` throws. */
  child<T>(name: string, options: { kind?: 'internal' | 'producer'; attributes?: SpanAttributes }, run: (span: SpanScope) => Promise<T>): Promise<T>;
  /** This span's context in W3C form (for job data). */
  carrier(): TraceCarrier;
  /** Ends the span; an error marks it failed (its name or code only: messages may quote data). */
  end(error?: unknown): void;
}

/** Where an outbound request of an execution goes: the connector's upstream or an OAuth token endpoint. */
export type OutboundKind = 'upstream' | 'token';

/** Starts the client span of one outbound HTTP request, child of the stage running it. */
export interface OutboundTrace {
  start(kind: OutboundKind, method: string, url: URL): OutboundSpan;
}

export interface OutboundSpan {
  /** `traceparent` (and `tracestate`) to send; empty when the tenant turned propagation off. */
  readonly headers: Readonly<Record<string, string>>;
  /** The answer's status, or the error that stopped the request. */
  end(result: { status: number } | { error: unknown }): void;
}

/** The trace of one execution: its server span, the stage spans (via the stage observer) and outbound client spans. */
export interface CallTrace {
  /** False when the execution was not sampled: no spans are recorded, the trace context still propagates. */
  readonly recording: boolean;
  /**
   * Watches one stage of a recording execution (src/runtime/pipeline.ts calls it before each stage
   * and what it returns when the stage ended). Stages run one at a time per execution.
   */
  watchStage(stage: string, step: StepRef | undefined): StageEnd;
  /** The outbound tracer of the running stage; `propagate` = the tenant's `trace_propagation`. */
  outbound(propagate: boolean): OutboundTrace;
  /** Ends the server span with what the answer was. */
  end(outcome: { status: number; cache: string; errorCode: string | undefined }): void;
}

export interface ExecuteStart {
  method: string;
  /** The route template, e.g. `/t/:tenant/connectors/:permalink/execute`. */
  route: string;
  tenant: string;
  permalink: string;
  requestId: string;
  /** The caller's headers: only `traceparent`/`tracestate` are read. */
  headers: IncomingHttpHeaders;
}

export interface Tracing {
  /** The server span of one execution. */
  execute(start: ExecuteStart): CallTrace;
  /** The server span of another route (webhook deliveries), e.g. `POST /webhooks/github`. */
  server(name: string, headers: IncomingHttpHeaders, attributes: SpanAttributes): SpanScope;
  /** The consumer span of a queue job, continuing the trace its data carries (a new trace when none). */
  job(queue: string, jobName: string, carrier: TraceCarrier | undefined, attributes: SpanAttributes): SpanScope;
  /** Sends every finished span now (tests, shutdown). */
  flush(): Promise<void>;
  /** Flushes (bounded: an unreachable endpoint never holds up a shutdown) and stops. */
  shutdown(): Promise<void>;
}

/** Tracing for this process, or undefined when the configuration leaves it off (nothing loaded). */
export async function startTracing(config: Config, metrics: GatehouseMetrics, log: Logger): Promise<Tracing | undefined> {
  if (config.tracing === undefined) return undefined;
  const { createTracing } = await import('./tracing-sdk.js');
  return createTracing(config.tracing, metrics, log);
}
