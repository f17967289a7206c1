import { LogController, type FastifyBaseLogger, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { ExecutionSummary } from '../observability/execution.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A widget runtime route: see GatehouseLogController. */
    widgetRuntime?: boolean;
  }
  interface FastifyRequest {
    /** Set by the execute routes once the answer is known: what the request log line reports. */
    execution: ExecutionSummary | null;
  }
}

/** Route config of the widget runtime routes (src/http/runtime.ts). */
export const WIDGET_RUNTIME_ROUTE = { widgetRuntime: true };

export type RequestLogMode = 'errors' | 'all' | 'none';

function isWidgetRuntime(request: FastifyRequest): boolean {
  return request.routeOptions.config?.widgetRuntime === true;
}

/**
 * Fastify's per-request log lines, with one exception (docs/runtime.md, "Logging"): on the widget runtime routes — the high-volume path — "incoming request" is
 * written at `debug`, and the "request completed" line is the execution's request log line, governed
 * by LOG_REQUESTS: `errors` (default) writes it for answers with status ≥ 400, `all` for every
 * answer, `none` never (LOG_LEVEL=debug still writes it at debug). The line carries tenant,
 * connector, method, status, cache result, durations and the request id — never headers, query
 * strings, bodies or template values. At info a line per successful answer cost about as much CPU
 * as the rest of a cache hit, hence `errors` by default. Every other route is unchanged.
 */
export class GatehouseLogController extends LogController {
  constructor(private readonly options: { requestIdLogLabel: string; logRequests: RequestLogMode }) {
    super({ requestIdLogLabel: options.requestIdLogLabel });
  }

  override incomingRequest(request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (!isWidgetRuntime(request)) return super.incomingRequest(request, reply, metadata);
    if (this.isLogDisabled(request)) return;
    request.log.debug({ req: request }, 'incoming request');
  }

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    const execution = request.execution;
    if (error || (execution === null && !isWidgetRuntime(request))) return super.requestCompleted(error, request, reply, metadata);
    if (this.isLogDisabled(request)) return;
    const mode = this.options.logRequests;
    const wanted = mode === 'all' || (mode === 'errors' && reply.statusCode >= 400);
    // The debug line of a successful answer is usually not written: then its fields are not built.
    if (!wanted && !debugEnabled(reply.log)) return;
    const fields = execution === null ? { res: reply, responseTime: reply.elapsedTime } : { res: reply, responseTime: reply.elapsedTime, ...executionFields(execution) };
    if (wanted) reply.log.info(fields, 'request completed');
    else reply.log.debug(fields, 'request completed');
  }
}

function debugEnabled(log: FastifyBaseLogger): boolean {
  const isLevelEnabled = (log as Partial<Pick<Logger, 'isLevelEnabled'>>).isLevelEnabled;
  return isLevelEnabled === undefined || isLevelEnabled.call(log, 'debug');
}

const ms = (n: number) => Math.round(n * 10) / 10;

function executionFields(e: ExecutionSummary): Record<string, unknown> {
  return {
    tenant: e.tenant,
    connector: e.connector,
    method: e.method,
    status: e.status,
    cache: e.cache,
    total_ms: ms(e.totalMs),
    template_ms: ms(e.templateMs),
    cache_ms: ms(e.cacheMs),
    upstream_ms: ms(e.upstreamMs),
    ...(e.errorCode !== undefined ? { error_code: e.errorCode } : {}),
    ...(e.upstreamError !== undefined ? { upstream_error: e.upstreamError } : {}),
  };
}
