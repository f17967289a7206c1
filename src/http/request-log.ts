import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A widget runtime route: see GatehouseLogController. */
    widgetRuntime?: boolean;
  }
}

/** Route config of the widget runtime routes (src/http/runtime.ts). */
export const WIDGET_RUNTIME_ROUTE = { widgetRuntime: true };

function isWidgetRuntime(request: FastifyRequest): boolean {
  return request.routeOptions.config?.widgetRuntime === true;
}

/**
 * Fastify's per-request log lines, with one exception (docs/runtime.md, "Logging"): on the widget
 * runtime routes — the high-volume path — "incoming request" and the "request completed" line of a
 * successful answer (status < 400) are written at `debug`, not `info`. At info the pair cost about
 * as much CPU as the whole rest of a cache hit. Failed executions (status ≥ 400) keep their
 * "request completed" line at info, errors stay at error, every other route is unchanged, and
 * LOG_LEVEL=debug writes the full pair for every execution.
 */
export class GatehouseLogController extends LogController {
  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (!isWidgetRuntime(request)) return super.incomingRequest(request, reply, metadata);
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error || reply.statusCode >= 400 || !isWidgetRuntime(request)) return super.requestCompleted(error, request, reply, metadata);
    if (this.isLogDisabled(request)) return;
    reply.log.debug({ res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }
}
