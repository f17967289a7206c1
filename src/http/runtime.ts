import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime/index.js';
import { corsHeaders } from '../runtime/cors.js';
import { errorEnvelope, RuntimeError, toRuntimeError } from '../runtime/errors.js';
import { execute, type ExecuteOutput } from '../runtime/execute.js';
import { NO_PATH_PARAMS_GIVEN, parsePathParamsHeader } from '../runtime/stages/path-params.js';
import { Timing } from '../runtime/timing.js';
import { WIDGET_RUNTIME_ROUTE } from './request-log.js';
import { connectorOf, upstreamErrorKind } from '../observability/execution.js';
import type { Telemetry } from '../observability/index.js';
import type { Tracing } from '../observability/tracing.js';

/** docs/design.md#limits: caller bodies up to 1 MiB. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

interface Params {
  tenant: string;
  permalink: string;
}

const CONNECTOR_ROUTE = '/t/:tenant/connectors/:permalink/execute';
const COMPOSITE_ROUTE = '/t/:tenant/composite-connectors/:permalink/execute';

/** The two execute routes; their paths answer with the runtime envelope even when fastify's router does not match. */
const EXECUTE_PATH = /^\/t\/([^/?]*)\/(connectors|composite-connectors)\/([^/?]*)\/execute(?:\?|$)/;

/** `{tenant, permalink, kind}` of a URL shaped like an execute route (segments still percent-encoded), else undefined. */
export function matchExecutePath(url: string): { tenant: string; permalink: string; kind: 'connector' | 'composite' } | undefined {
  const m = EXECUTE_PATH.exec(url);
  if (m === null) return undefined;
  return { tenant: m[1]!, permalink: m[3]!, kind: m[2] === 'connectors' ? 'connector' : 'composite' };
}

function decodeSegment(s: string): string | undefined {
  try {
    return decodeURIComponent(s);
  } catch {
    return undefined;
  }
}

function callerQuery(url: string): [string, string][] {
  const q = url.indexOf('?');
  if (q === -1) return [];
  return [...new URLSearchParams(url.slice(q + 1))];
}

/**
 * Records what an execute answer was: request metrics and usage buckets (telemetry), and the
 * summary the request log line reports (src/http/request-log.ts). Called once per answer.
 */
function observe(telemetry: Telemetry, request: FastifyRequest, tenantId: string, permalink: string, status: number, cache: string, timing: Timing, error: RuntimeError | undefined): void {
  const code = error?.code;
  const stage = error?.scope?.stage;
  // The tenant stage answers 404 for an unknown tenant: its id is the caller's to choose, never a label.
  const { tenant = tenantId, connector } = connectorOf(!(code === 'CONNECTOR_NOT_FOUND' && stage === 'tenant') && tenantId !== '', permalink, code);
  const summary = {
    tenant,
    connector,
    method: request.method,
    status,
    cache,
    totalMs: performance.now() - timing.start,
    templateMs: timing.transformMs,
    cacheMs: timing.cacheMs,
    upstreamMs: timing.httpMs,
    errorCode: code,
    upstreamError: upstreamErrorKind(code, error?.upstreamKind),
    rateLimit: code === 'RATE_LIMITED' ? (stage === 'tenant-rate-limit' ? ('tenant' as const) : ('user' as const)) : undefined,
  };
  request.execution = summary;
  telemetry.executions.observe(summary);
}

/** A CORS preflight answer is not an execution: it is neither counted nor logged as one. */
function isPreflight(request: FastifyRequest, out: { status: number; error: RuntimeError | undefined }): boolean {
  return request.method === 'OPTIONS' && out.status === 204 && out.error === undefined && request.headers['access-control-request-method'] !== undefined;
}

/**
 * The pipeline's answer (its headers include the tenant's CORS headers). An answer with a body is
 * written straight to the response (see writeAnswer); HEAD, 1xx, 204 and 304 answers go through
 * reply.send, whose rules for those (no body, no Content-Length or Content-Type) apply.
 */
function sendOutcome(reply: FastifyReply, request: FastifyRequest, out: ExecuteOutput): FastifyReply {
  if (request.method !== 'HEAD' && out.status >= 200 && out.status !== 204 && out.status !== 304 && writeAnswer(reply, request, out)) return reply;
  reply.code(out.status).headers(out.headers);
  // A Buffer keeps the Content-Type exactly as configured (fastify would append a charset to strings).
  return reply.send(request.method === 'HEAD' ? undefined : typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body);
}

/**
 * Writes an answer with a body the way reply.send would — the onRequest hook's `x-request-id`
 * first, the answer's headers in their order, `content-length` last — but as
 * one flat header list handed to node's writeHead, without fastify's per-header copy, content-type
 * parsing and payload checks (a visible share of a cache hit). The execute routes have no onSend
 * hooks; onResponse hooks and the request log still run (they follow the response's 'finish').
 * Returns false, having written nothing, when a header name is not lower-case or node refuses a
 * header (an invalid character): the caller then answers through reply.send, as it always did.
 */
function writeAnswer(reply: FastifyReply, request: FastifyRequest, out: ExecuteOutput): boolean {
  const body = typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body;
  const headers: string[] = ['x-request-id', request.id];
  const given = out.headers;
  for (const name in given) {
    // reply.send would merge names differing only in case; the pipeline writes lower-case ones.
    if (name.toLowerCase() !== name) return false;
    if (name === 'x-request-id' || name === 'content-length') continue;
    headers.push(name, given[name]!);
  }
  headers.push('content-length', String(body.length));
  const res = reply.raw;
  try {
    res.writeHead(out.status, headers);
  } catch {
    // Nothing was sent; the status node took is set again by reply.code.
    return false;
  }
  reply.hijack();
  res.end(body);
  return true;
}

/** Error answers produced outside the pipeline (body too large, a malformed request) still carry every header. */
function sendError(reply: FastifyReply, request: FastifyRequest, err: RuntimeError, cors: Record<string, string>, timing = new Timing()): FastifyReply {
  const t = timing.headers(request.id, 'BYPASS');
  return reply
    .code(err.status)
    .headers({
      ...cors,
      ...(err.headers ?? {}),
      // Set here too: answers to URLs fastify could not route (frameworkErrors) skip the onRequest hook.
      'x-request-id': request.id,
      'x-cache': 'BYPASS',
      'server-timing': t.serverTiming,
      'x-connector-timing': t.connectorTiming,
      'content-type': 'application/json; charset=utf-8',
    })
    .send(JSON.stringify(errorEnvelope(err, request.id)));
}

/**
 * Answers for execute-shaped URLs that fastify's router does not route (docs/runtime.md: every answer
 * carries the runtime envelope and headers): a method fastify has no route for (e.g. `PROPFIND`)
 * goes through the pipeline, which answers 404 or 405 with `Allow`; a URL whose segments cannot be
 * decoded or are longer than the router takes names no connector → 404 `CONNECTOR_NOT_FOUND`.
 * Returns false when the URL is not an execute URL (the caller answers as usual).
 */
export function runtimeFallback(runtime: Runtime, telemetry: Telemetry, tracing: Tracing | undefined) {
  return async (request: FastifyRequest, reply: FastifyReply, reason: 'not-found' | 'bad-url'): Promise<boolean> => {
    const m = matchExecutePath(request.url);
    if (m === undefined) return false;
    const tenantId = decodeSegment(m.tenant);
    const permalink = decodeSegment(m.permalink);
    if (reason === 'bad-url' || tenantId === undefined || permalink === undefined) {
      const tenant = tenantId === undefined ? undefined : await runtime.tenants.get(tenantId).catch(() => undefined);
      const cors = corsHeaders(tenant, request.headers.origin);
      const what = m.kind === 'composite' ? 'composite connector' : 'connector';
      const timing = new Timing();
      const err = new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no ${what} at this URL in this tenant`);
      observe(telemetry, request, tenant === undefined ? '' : tenant.id, '', 404, 'BYPASS', timing, err);
      sendError(reply, request, err, cors, timing);
      return true;
    }
    const timing = new Timing();
    const trace = tracing?.execute({ method: request.method, route: m.kind === 'composite' ? COMPOSITE_ROUTE : CONNECTOR_ROUTE, tenant: tenantId, permalink, requestId: request.id, headers: request.headers });
    const out = await execute({
      deps: runtime,
      requestId: request.id,
      tenantId,
      permalink,
      kind: m.kind,
      timing,
      caller: { method: request.method, query: callerQuery(request.url), headers: request.headers, body: undefined, pathParams: NO_PATH_PARAMS_GIVEN },
      ...(trace !== undefined ? { trace } : {}),
    });
    if (!isPreflight(request, out)) observe(telemetry, request, tenantId, permalink, out.status, out.headers['x-cache'] ?? 'BYPASS', timing, out.error);
    trace?.end({ status: out.status, cache: out.headers['x-cache'] ?? 'BYPASS', errorCode: out.error?.code });
    sendOutcome(reply.header('x-request-id', request.id), request, out);
    return true;
  };
}

/**
 * The widget runtime (docs/runtime.md): `{METHOD} /t/{tenant}/connectors/{permalink}/execute` and
 * `POST /t/{tenant}/composite-connectors/{permalink}/execute`. Bodies are kept raw (the request
 * template sees `body_raw`, a passthrough forwards the exact bytes).
 */
export const runtimeRoutes = (runtime: Runtime, telemetry: Telemetry, tracing: Tracing | undefined): FastifyPluginAsync =>
  async (app) => {
    // Every method fastify can route (incl. TRACE, QUERY): a method other than the connector's is
    // the pipeline's 405 with `Allow` (docs/runtime.md), never the generic 404.
    const methods = [...app.supportedMethods];
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BODY_BYTES }, (_req, body, done) => done(null, body));

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const params = request.params as Params;
      const tenant = await runtime.tenants.get(params.tenant).catch(() => undefined);
      const cors = corsHeaders(tenant, request.headers.origin);
      const timing = new Timing();
      const answer = (err: RuntimeError) => {
        observe(telemetry, request, tenant === undefined ? '' : tenant.id, params.permalink, err.status, 'BYPASS', timing, err);
        return sendError(reply, request, err, cors, timing);
      };
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return answer(new RuntimeError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`));
      }
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        // Every well-formed type is accepted (kept raw); only a Content-Type that does not parse ends here.
        return answer(new RuntimeError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the Content-Type header is not a valid media type (type/subtype[; parameter=value])'));
      }
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        // A malformed HTTP request (e.g. a body that does not match its Content-Length): the caller's fault.
        return answer(new RuntimeError(error.statusCode, 'BAD_REQUEST', `the HTTP request is malformed: ${error.message}`));
      }
      return answer(toRuntimeError(error, { log: request.log, requestId: request.id }));
    });

    // Tenant lookup, preflight, CORS and rate limits are stages of the pipeline (src/runtime/pipeline.ts).
    // Not an async function: an answer the pipeline gives without a promise (a cache hit from
    // memory) is sent at once, without a promise or a microtask of its own.
    const handler = (kind: 'connector' | 'composite') => (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply): Promise<FastifyReply> | undefined => {
      const body = request.body as Buffer | undefined;
      const timing = new Timing();
      const trace = tracing?.execute({
        method: request.method,
        route: kind === 'composite' ? COMPOSITE_ROUTE : CONNECTOR_ROUTE,
        tenant: request.params.tenant,
        permalink: request.params.permalink,
        requestId: request.id,
        headers: request.headers,
      });
      const out = execute({
        deps: runtime,
        requestId: request.id,
        tenantId: request.params.tenant,
        permalink: request.params.permalink,
        kind,
        timing,
        caller: {
          method: request.method,
          query: callerQuery(request.url),
          headers: request.headers,
          body: Buffer.isBuffer(body) ? body : undefined,
          pathParams: kind === 'connector' ? parsePathParamsHeader(request.headers['x-path-params']) : NO_PATH_PARAMS_GIVEN,
        },
        ...(trace !== undefined ? { trace } : {}),
      });
      const answer = (o: ExecuteOutput): FastifyReply => {
        if (!isPreflight(request, o)) observe(telemetry, request, request.params.tenant, request.params.permalink, o.status, o.headers['x-cache'] ?? 'BYPASS', timing, o.error);
        trace?.end({ status: o.status, cache: o.headers['x-cache'] ?? 'BYPASS', errorCode: o.error?.code });
        return sendOutcome(reply, request, o);
      };
      if (out instanceof Promise) return out.then(answer);
      answer(out);
      return undefined;
    };

    // config: per-request log lines at debug for successful executions (src/http/request-log.ts).
    app.route<{ Params: Params }>({ method: methods, url: CONNECTOR_ROUTE, exposeHeadRoute: false, config: WIDGET_RUNTIME_ROUTE, handler: handler('connector') });
    app.route<{ Params: Params }>({ method: methods, url: COMPOSITE_ROUTE, exposeHeadRoute: false, config: WIDGET_RUNTIME_ROUTE, handler: handler('composite') });
  };
