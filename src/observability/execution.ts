import type { GatehouseMetrics, UpstreamErrorKind } from './metrics.js';
import { statusClass } from './metrics.js';
import type { UpstreamFailureKind } from '../upstream/client.js';
import { UNKNOWN_CONNECTOR, type UsageStore } from './usage.js';

/**
 * What one execute answer was, as the HTTP route saw it: the input of the request metrics, the
 * usage buckets and the request log line (src/http/request-log.ts). Durations in milliseconds.
 */
export interface ExecutionSummary {
  tenant: string;
  /** The permalink, or UNKNOWN_CONNECTOR when the tenant or connector does not exist. */
  connector: string;
  method: string;
  status: number;
  cache: string;
  totalMs: number;
  templateMs: number;
  cacheMs: number;
  upstreamMs: number;
  /** The error envelope's code, when the answer is one. */
  errorCode: string | undefined;
  /** Why the upstream call got no HTTP answer, when it did not. */
  upstreamError: UpstreamErrorKind | undefined;
  /** Which limit refused a 429 RATE_LIMITED. */
  rateLimit: 'tenant' | 'user' | undefined;
}

/** Error codes that mean the tenant or connector named by the URL does not exist. */
const NOT_FOUND = new Set(['CONNECTOR_NOT_FOUND']);

/** The connector label of an answer: callers cannot mint label values with made-up URLs. */
export function connectorOf(tenantExists: boolean, permalink: string, errorCode: string | undefined): { tenant?: string; connector: string } {
  if (!tenantExists) return { tenant: UNKNOWN_CONNECTOR, connector: UNKNOWN_CONNECTOR };
  return { connector: errorCode !== undefined && NOT_FOUND.has(errorCode) ? UNKNOWN_CONNECTOR : permalink };
}

/** The upstream failure kind of an error code of the runtime envelope (UPSTREAM_UNREACHABLE needs the cause). */
export function upstreamErrorKind(code: string | undefined, unreachable: UpstreamFailureKind | undefined): UpstreamErrorKind | undefined {
  switch (code) {
    case 'UPSTREAM_TIMEOUT':
      return 'timeout';
    case 'BLOCKED_DESTINATION':
      return 'blocked';
    case 'UPSTREAM_RESPONSE_TOO_LARGE':
      return 'too_large';
    case 'UPSTREAM_UNREACHABLE':
      return unreachable ?? 'unreachable';
    default:
      return undefined;
  }
}

/** Feeds each execution into the Prometheus metrics and the usage buckets (when METRICS_EXECUTE is on). */
export class ExecutionObserver {
  constructor(
    private readonly metrics: GatehouseMetrics,
    private readonly usage: UsageStore,
    /**
     * METRICS_EXECUTE, read at each execution. Writable so that the runtime benchmark
     * (bench/widget.bench.ts) can switch it between runs in one process: the difference is then
     * what the observer costs, without the noise between two processes.
     */
    public enabled: boolean,
  ) {}

  observe(s: ExecutionSummary): void {
    if (!this.enabled) return;
    const m = this.metrics;
    const series = m.connectorSeries.of(s.tenant, s.connector);
    series.count(s.method, statusClass(s.status), s.cache);
    series.duration.observe(s.totalMs / 1000);
    m.stages.template.observe(s.templateMs / 1000);
    if (s.cache !== 'BYPASS') m.stages.cache.observe(s.cacheMs / 1000);
    if (s.upstreamMs > 0) m.stages.upstream.observe(s.upstreamMs / 1000);
    if (s.upstreamError !== undefined) m.upstreamErrors.inc({ tenant: s.tenant, connector: series.connector, kind: s.upstreamError });
    if (s.rateLimit !== undefined) m.rateLimited.inc({ tenant: s.tenant, scope: s.rateLimit });
    this.usage.record(s.tenant, s.connector, s.status, s.cache, s.totalMs);
  }
}
