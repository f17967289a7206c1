import type { FastifyReply, FastifyRequest } from 'fastify';
import type { SpanScope, Tracing } from '../observability/tracing.js';

/**
 * A route handler inside a server span named `<METHOD> <route>` when tracing is on (webhook
 * deliveries: their span is the parent of the queue jobs they create). The handler gets the span
 * to hand on; without tracing it gets undefined and nothing else happens.
 */
export function tracedRoute<R extends FastifyRequest>(
  tracing: Tracing | undefined,
  route: string,
  handler: (request: R, reply: FastifyReply, span: SpanScope | undefined) => Promise<unknown>,
): (request: R, reply: FastifyReply) => Promise<unknown> {
  if (tracing === undefined) return (request, reply) => handler(request, reply, undefined);
  return async (request, reply) => {
    const span = tracing.server(`${request.method} ${route}`, request.headers, { 'http.request.method': request.method, 'http.route': route, 'gatehouse.request_id': request.id });
    try {
      const out = await handler(request, reply, span);
      span.setAttributes({ 'http.response.status_code': reply.statusCode });
      span.end();
      return out;
    } catch (err) {
      const status = typeof (err as { status?: unknown }).status === 'number' ? (err as { status: number }).status : 500;
      span.setAttributes({ 'http.response.status_code': status });
      // Server spans fail on 5xx only: a refused delivery is the sender's problem.
      span.end(status >= 500 ? err : undefined);
      throw err;
    }
  };
}
