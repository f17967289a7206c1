import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime/index.js';
import { corsHeaders } from '../runtime/cors.js';
import { errorEnvelope, RuntimeError, toRuntimeError } from '../runtime/errors.js';
import { execute } from '../runtime/execute.js';
import { parsePathParamsHeader } from '../runtime/stages/path-params.js';
import { Timing } from '../runtime/timing.js';
import { WIDGET_RUNTIME_ROUTE } from './request-log.js';

/** docs/design.md#limits: caller bodies up to 1 MiB. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

interface Params {
  tenant: string;
  permalink: string;
}

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

/** The pipeline's answer (its headers include the tenant's CORS headers). */
function sendOutcome(reply: FastifyReply, request: FastifyRequest, out: Awaited<ReturnType<typeof execute>>): FastifyReply {
  reply.code(out.status).headers(out.headers);
  // A Buffer keeps the Content-Type exactly as configured (fastify would append a charset to strings).
  return reply.send(request.method === 'HEAD' ? undefined : typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body);
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
export function runtimeFallback(runtime: Runtime) {
  return async (request: FastifyRequest, reply: FastifyReply, reason: 'not-found' | 'bad-url'): Promise<boolean> => {
    const m = matchExecutePath(request.url);
    if (m === undefined) return false;
    const tenantId = decodeSegment(m.tenant);
    const permalink = decodeSegment(m.permalink);
    if (reason === 'bad-url' || tenantId === undefined || permalink === undefined) {
      const tenant = tenantId === undefined ? undefined : await runtime.tenants.get(tenantId).catch(() => undefined);
      const cors = corsHeaders(tenant, request.headers.origin);
      const what = m.kind === 'composite' ? 'composite connector' : 'connector';
      sendError(reply, request, new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no ${what} at this URL in this tenant`), cors);
      return true;
    }
    const out = await execute({
      deps: runtime,
      requestId: request.id,
      tenantId,
      permalink,
      kind: m.kind,
      caller: { method: request.method, query: callerQuery(request.url), headers: request.headers, body: undefined, pathParams: new Map() },
    });
    sendOutcome(reply.header('x-request-id', request.id), request, out);
    return true;
  };
}

/**
 * The widget runtime (docs/runtime.md): `{METHOD} /t/{tenant}/connectors/{permalink}/execute` and
 * `POST /t/{tenant}/composite-connectors/{permalink}/execute`. Bodies are kept raw (the request
 * template sees `body_raw`, a passthrough forwards the exact bytes).
 */
export const runtimeRoutes = (runtime: Runtime): FastifyPluginAsync =>
  async (app) => {
    // Every method fastify can route (incl. TRACE, QUERY): a method other than the connector's is
    // the pipeline's 405 with `Allow` (docs/runtime.md), never the generic 404.
    const methods = [...app.supportedMethods];
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BODY_BYTES }, (_req, body, done) => done(null, body));

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const tenant = await runtime.tenants.get((request.params as Params).tenant).catch(() => undefined);
      const cors = corsHeaders(tenant, request.headers.origin);
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(reply, request, new RuntimeError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`), cors);
      }
      if (error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
        // Every well-formed type is accepted (kept raw); only a Content-Type that does not parse ends here.
        return sendError(reply, request, new RuntimeError(415, 'UNSUPPORTED_MEDIA_TYPE', 'the Content-Type header is not a valid media type (type/subtype[; parameter=value])'), cors);
      }
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        // A malformed HTTP request (e.g. a body that does not match its Content-Length): the caller's fault.
        return sendError(reply, request, new RuntimeError(error.statusCode, 'BAD_REQUEST', `the HTTP request is malformed: ${error.message}`), cors);
      }
      return sendError(reply, request, toRuntimeError(error, { log: request.log, requestId: request.id }), cors);
    });

    // Tenant lookup, preflight, CORS and rate limits are stages of the pipeline (src/runtime/pipeline.ts).
    const handler = (kind: 'connector' | 'composite') => async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const body = request.body as Buffer | undefined;
      const out = await execute({
        deps: runtime,
        requestId: request.id,
        tenantId: request.params.tenant,
        permalink: request.params.permalink,
        kind,
        caller: {
          method: request.method,
          query: callerQuery(request.url),
          headers: request.headers,
          body: Buffer.isBuffer(body) ? body : undefined,
          pathParams: kind === 'connector' ? parsePathParamsHeader(request.headers['x-path-params']) : new Map(),
        },
      });
      return sendOutcome(reply, request, out);
    };

    // config: per-request log lines at debug for successful executions (src/http/request-log.ts).
    app.route<{ Params: Params }>({ method: methods, url: '/t/:tenant/connectors/:permalink/execute', exposeHeadRoute: false, config: WIDGET_RUNTIME_ROUTE, handler: handler('connector') });
    app.route<{ Params: Params }>({ method: methods, url: '/t/:tenant/composite-connectors/:permalink/execute', exposeHeadRoute: false, config: WIDGET_RUNTIME_ROUTE, handler: handler('composite') });
  };
