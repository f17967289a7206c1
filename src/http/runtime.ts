import type { FastifyError, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Runtime } from '../runtime/index.js';
import { corsHeaders, NO_CORS, preflightHeaders } from '../runtime/cors.js';
import { errorEnvelope, RuntimeError } from '../runtime/errors.js';
import { execute } from '../runtime/execute.js';
import { parsePathParamsHeader } from '../runtime/stages/path-params.js';
import { Timing } from '../runtime/timing.js';
import { WIDGET_RUNTIME_ROUTE } from './request-log.js';

/** Decision 12: caller bodies up to 1 MiB. */
export const MAX_REQUEST_BODY_BYTES = 1024 * 1024;

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

interface Params {
  tenant: string;
  permalink: string;
}

function callerQuery(url: string): [string, string][] {
  const q = url.indexOf('?');
  if (q === -1) return [];
  return [...new URLSearchParams(url.slice(q + 1))];
}

/** Error answers produced outside the pipeline (body too large, rate limit) still carry every header. */
function sendError(reply: FastifyReply, request: FastifyRequest, err: RuntimeError, cors: Record<string, string>, timing = new Timing()): FastifyReply {
  const t = timing.headers(request.id, 'BYPASS');
  return reply
    .code(err.status)
    .headers({
      ...cors,
      ...(err.headers ?? {}),
      'x-cache': 'BYPASS',
      'server-timing': t.serverTiming,
      'x-connector-timing': t.connectorTiming,
      'content-type': 'application/json; charset=utf-8',
    })
    .send(JSON.stringify(errorEnvelope(err, request.id)));
}

/**
 * The widget runtime (api.md §3): `{METHOD} /t/{tenant}/connectors/{permalink}/execute` and
 * `POST /t/{tenant}/composite-connectors/{permalink}/execute`. Bodies are kept raw (the request
 * template sees `body_raw`, a passthrough forwards the exact bytes).
 */
export const runtimeRoutes = (runtime: Runtime): FastifyPluginAsync =>
  async (app) => {
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_REQUEST_BODY_BYTES }, (_req, body, done) => done(null, body));

    app.setErrorHandler(async (error: FastifyError, request, reply) => {
      const tenant = await runtime.tenants.get((request.params as Params).tenant).catch(() => undefined);
      const cors = corsHeaders(tenant, request.headers.origin);
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
        return sendError(reply, request, new RuntimeError(413, 'PAYLOAD_TOO_LARGE', `the request body is larger than ${MAX_REQUEST_BODY_BYTES} bytes`), cors);
      }
      if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) {
        return sendError(reply, request, new RuntimeError(error.statusCode, 'INTERNAL', error.message), cors);
      }
      request.log.error({ err: error }, 'runtime request failed');
      return sendError(reply, request, new RuntimeError(500, 'INTERNAL', `unexpected error; quote request id ${request.id} when reporting it`), cors);
    });

    const handler = (kind: 'connector' | 'composite') => async (request: FastifyRequest<{ Params: Params }>, reply: FastifyReply) => {
      const timing = new Timing();
      const { tenant: tenantId, permalink } = request.params;
      const tenant = await runtime.tenants.get(tenantId);
      const origin = request.headers.origin;

      if (request.method === 'OPTIONS' && request.headers['access-control-request-method'] !== undefined) {
        const t = timing.headers(request.id, 'BYPASS');
        return reply
          .code(204)
          .headers({ ...preflightHeaders(tenant, origin, request.headers['access-control-request-headers']), 'x-cache': 'BYPASS', 'server-timing': t.serverTiming, 'x-connector-timing': t.connectorTiming })
          .send();
      }

      const cors = corsHeaders(tenant, origin);
      // Decision 30: the limit is off unless the tenant sets one (no Redis round trip then).
      if (tenant !== undefined && tenant.rate_limit_per_minute !== undefined) {
        const retryAfter = await runtime.rateLimiter.check(tenant.id, tenant.rate_limit_per_minute);
        if (retryAfter !== undefined) {
          return sendError(reply, request, new RuntimeError(429, 'RATE_LIMITED', `this tenant is over its limit of ${tenant.rate_limit_per_minute} executions per minute`).withHeaders({ 'retry-after': String(retryAfter) }), cors, timing);
        }
      }

      const body = request.body as Buffer | undefined;
      const out = await execute({
        deps: runtime,
        requestId: request.id,
        tenantId,
        tenant,
        permalink,
        kind,
        timing,
        caller: {
          method: request.method,
          query: callerQuery(request.url),
          headers: request.headers,
          body: Buffer.isBuffer(body) ? body : undefined,
          pathParams: kind === 'connector' ? parsePathParamsHeader(request.headers['x-path-params']) : new Map(),
        },
      });
      reply.code(out.status).headers(out.headers);
      if (cors !== NO_CORS) reply.headers(cors);
      // A Buffer keeps the Content-Type exactly as configured (fastify would append a charset to strings).
      return reply.send(request.method === 'HEAD' ? undefined : typeof out.body === 'string' ? Buffer.from(out.body, 'utf8') : out.body);
    };

    // config: per-request log lines at debug for successful executions (src/http/request-log.ts).
    app.route<{ Params: Params }>({ method: METHODS, url: '/t/:tenant/connectors/:permalink/execute', exposeHeadRoute: false, config: WIDGET_RUNTIME_ROUTE, handler: handler('connector') });
    app.route<{ Params: Params }>({ method: METHODS, url: '/t/:tenant/composite-connectors/:permalink/execute', exposeHeadRoute: false, config: WIDGET_RUNTIME_ROUTE, handler: handler('composite') });
  };
