import type { CallTrace } from '../observability/tracing.js';
import type { CompiledConnector } from '../registry/compile.js';
import type { CallerRequest, RuntimeDeps, RuntimeTenant, TestOptions } from './context.js';
import { debugHeader, debugRecord } from './debug-record.js';
import { errorEnvelope, toRuntimeError, type RuntimeError } from './errors.js';
import { runPipeline, type Run } from './pipeline.js';
import { NO_VALUES } from './stages/values.js';
import { Timing, type CacheOutcome } from './timing.js';

export interface ExecuteInput {
  deps: RuntimeDeps;
  requestId: string;
  tenantId: string;
  permalink: string;
  kind: 'connector' | 'composite';
  caller: CallerRequest;
  /** Test Connection: the tenant it already looked up, and a given user instead of a session. */
  test?: TestOptions & { tenant: RuntimeTenant | undefined };
  /** Test Connection of an unsaved connector or composite: compiled from the request body. */
  compiled?: CompiledConnector;
  timing?: Timing;
  /** The execution's trace, when tracing is on. */
  trace?: CallTrace;
}

export interface ExecuteOutput {
  status: number;
  /** Response headers incl. CORS, X-Cache, Server-Timing, X-Connector-Timing (not the request id). */
  headers: Record<string, string>;
  body: Buffer | string;
  /** Set when the answer is an error envelope. */
  error: RuntimeError | undefined;
  /** Test Connection's X-Debug-Request value (ASCII JSON), secret values redacted as a last defence. */
  debugJson: string | undefined;
  /** Test Connection: what the (last) upstream answered, before the response template; undefined when none answered. */
  upstream: { status: number; body: Buffer } | undefined;
  timingJson: string;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Runs one execution through the pipeline and shapes the answer; never throws. The answer comes
 * without a promise when no stage needed one (a cache hit from memory).
 */
export function execute(input: ExecuteInput): ExecuteOutput | Promise<ExecuteOutput> {
  const test = input.test;
  const run = runPipeline({
    deps: input.deps,
    requestId: input.requestId,
    tenantId: input.tenantId,
    permalink: input.permalink,
    kind: input.kind,
    caller: input.caller,
    test: test === undefined ? undefined : { user: test.user },
    given: test === undefined ? undefined : { tenant: test.tenant, compiled: input.compiled },
    timing: input.timing ?? new Timing(),
    now: Math.floor(Date.now() / 1000),
    trace: input.trace,
  });
  return run instanceof Promise ? run.then((r) => answerOf(input, r)) : answerOf(input, run);
}

/** The answer of a finished run: the response, the preflight answer or the error envelope, with the runtime's headers. */
function answerOf(input: ExecuteInput, run: Run): ExecuteOutput {
  const test = input.test;
  const { call, request } = run;
  let status: number;
  let headers: Record<string, string>;
  let body: Buffer | string;
  let error: RuntimeError | undefined;
  if (run.preflight !== undefined) {
    status = 204;
    headers = { ...run.preflight.preflight };
    body = '';
  } else if (run.error === undefined && request?.answer !== undefined) {
    status = request.answer.status;
    headers = request.answer.headers;
    body = request.answer.body;
  } else {
    const values = call.values ?? NO_VALUES;
    error = toRuntimeError(run.error, { log: input.deps.log, requestId: input.requestId, tenant: input.tenantId, permalink: input.permalink, secrets: values.secrets.values() });
    status = error.status;
    headers = { 'content-type': JSON_TYPE, ...(error.headers ?? {}) };
    body = JSON.stringify(errorEnvelope(error, input.requestId));
  }
  const xCache = cacheOutcome(run, error);
  const t = call.timing.headers(input.requestId, xCache);
  const cors = call.cors;
  if (cors !== undefined && run.preflight === undefined) for (const k in cors) headers[k] = cors[k]!;
  headers['x-cache'] = xCache;
  headers['server-timing'] = t.serverTiming;
  headers['x-connector-timing'] = t.connectorTiming;
  const fetched = test === undefined ? undefined : run.request?.fetched?.response;
  const upstream = fetched === undefined ? undefined : { status: fetched.status, body: fetched.body };
  return { status, headers, body, error, debugJson: test === undefined ? undefined : testDebug(run), upstream, timingJson: t.connectorTiming };
}

/** X-Cache: the simple connector's cache outcome; an upstream failure while consulting the cache is a MISS. */
function cacheOutcome(run: Run, error: RuntimeError | undefined): CacheOutcome {
  const fetched = run.request?.fetched;
  if (fetched !== undefined) return run.call.connector?.kind === 'composite' ? 'BYPASS' : fetched.xCache;
  const c = run.call.connector;
  const consulted =
    error?.scope?.stage === 'upstream' && error.scope.step === undefined && c?.kind === 'connector' && run.call.deps.cache !== undefined && run.call.test === undefined && (c.method === 'GET' || c.method === 'HEAD');
  return consulted ? 'MISS' : 'BYPASS';
}

/**
 * Test Connection's debug record, as far as the request got: the simple connector's request, or
 * the last step a composite started.
 */
function testDebug(run: Run): string | undefined {
  const c = run.call.connector;
  if (c === undefined) return undefined;
  const r = run.request;
  const spec = c.kind === 'connector' ? c : r?.spec;
  if (spec === undefined) return undefined;
  const record = debugRecord({
    spec,
    ignored: [...(run.call.merged?.ignored ?? []), ...(run.call.pathParams?.ignored ?? [])],
    rendered: r?.rendered,
    applied: r?.authorized?.applied,
    body: r?.body,
  });
  return debugHeader(record, (run.call.values ?? NO_VALUES).secrets.values());
}
