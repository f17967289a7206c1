import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { HistogramSeries, SeriesHistogram } from './histogram.js';
import { UNKNOWN_CONNECTOR } from './usage.js';

/**
 * Every Prometheus metric Gatehouse defines beyond the response cache's counters
 * (src/upstream/cache/metrics.ts) and the sync totals (src/sync/processor.ts), registered once per
 * process on `services.metrics`. `GET /metrics` lists them with their help texts.
 *
 * Cardinality is bounded: tenant and connector labels go through ConnectorSeries (at most
 * METRICS_MAX_CONNECTOR_SERIES distinct tenant/connector pairs, later ones are `connector="other"`),
 * status codes are reduced to their class, and every other label has a fixed set of values.
 */

/** Latency buckets in seconds: 1 ms … 30 s, dense where cache hits and typical upstreams answer. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const JOB_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300];

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'];

/** The label value standing for every connector past the series cap. */
export const OTHER_CONNECTOR = 'other';

type RequestLabel = 'tenant' | 'connector' | 'method' | 'status_class' | 'cache';

/**
 * What the execute path records for one tenant/connector label pair: its duration histogram series,
 * held here so that an execution observes it without a lookup, and its request counts by method,
 * status class and cache result since the last scrape, handed to the prom-client counter when a
 * scrape collects it (`inc` with labels validates and hashes the label set on each call).
 */
export class ConnectorExecutions {
  /** method → status class → cache result → executions not yet handed over. */
  private readonly counts = new Map<string, Map<string, Map<string, { labels: Record<RequestLabel, string>; n: number }>>>();

  constructor(
    readonly tenant: string,
    /** The connector label: the permalink, `other` past the series cap, or `(unknown)`. */
    readonly connector: string,
    readonly duration: HistogramSeries,
  ) {}

  count(method: string, statusClass: string, cache: string): void {
    let byStatus = this.counts.get(method);
    if (byStatus === undefined) this.counts.set(method, (byStatus = new Map()));
    let byCache = byStatus.get(statusClass);
    if (byCache === undefined) byStatus.set(statusClass, (byCache = new Map()));
    const held = byCache.get(cache);
    if (held === undefined) byCache.set(cache, { labels: { tenant: this.tenant, connector: this.connector, method, status_class: statusClass, cache }, n: 1 });
    else held.n++;
  }

  /** Hands the counts held to `counter` (the label sets stay, at zero, for the next ones). */
  flush(counter: Counter<RequestLabel>): void {
    for (const byStatus of this.counts.values()) {
      for (const byCache of byStatus.values()) {
        for (const held of byCache.values()) {
          if (held.n === 0) continue;
          counter.inc(held.labels, held.n);
          held.n = 0;
        }
      }
    }
  }
}

/**
 * The execute path's series per tenant and connector, with the cardinality cap: the first `max`
 * tenant/connector pairs seen keep their names for the life of the process; any further pair is
 * reported as `connector="other"` (its tenant label kept), so a tenant with thousands of connectors
 * cannot blow up the scrape. Executions that named no existing connector (`(unknown)`) are outside
 * the cap; their tenant is an existing tenant or `(unknown)`.
 */
export class ConnectorSeries {
  private readonly known = new Map<string, Map<string, ConnectorExecutions>>();
  private size = 0;

  constructor(
    readonly max: number,
    private readonly create: (tenant: string, connector: string) => ConnectorExecutions,
  ) {}

  /** The series that an execution of `connector` of `tenant` counts in. */
  of(tenant: string, connector: string): ConnectorExecutions {
    let perTenant = this.known.get(tenant);
    if (perTenant === undefined) this.known.set(tenant, (perTenant = new Map()));
    const known = perTenant.get(connector);
    if (known !== undefined) return known;
    let label = connector;
    if (connector !== UNKNOWN_CONNECTOR) {
      if (this.size < this.max) this.size++;
      else label = OTHER_CONNECTOR;
    }
    let series = perTenant.get(label);
    if (series === undefined) {
      series = this.create(tenant, label);
      perTenant.set(label, series);
    }
    return series;
  }

  /** Every series handed out so far (for the scrape). */
  *all(): Generator<ConnectorExecutions> {
    for (const perTenant of this.known.values()) yield* perTenant.values();
  }
}

export type UpstreamErrorKind = 'timeout' | 'refused' | 'tls' | 'dns' | 'reset' | 'unreachable' | 'blocked' | 'too_large';

export class GatehouseMetrics {
  readonly connectorSeries: ConnectorSeries;

  // The execute path (src/observability/execution.ts feeds it through connectorSeries and stages).
  readonly executeRequests: Counter<RequestLabel>;
  readonly executeDuration: SeriesHistogram<'tenant' | 'connector'>;
  readonly executeStageDuration: SeriesHistogram<'stage'>;
  readonly stages: Readonly<Record<'template' | 'cache' | 'upstream', HistogramSeries>>;
  readonly upstreamErrors: Counter<'tenant' | 'connector' | 'kind'>;
  readonly rateLimited: Counter<'tenant' | 'scope'>;

  // Outbound OAuth tokens (src/auth/token-cache.ts).
  readonly tokenRequests: Counter<'outcome'>;
  readonly tokenCacheLookups: Counter<'result'>;
  readonly tokenWaits: Counter<'kind'>;

  // Git webhooks, queues, syncs.
  readonly webhookDeliveries: Counter<'source' | 'event' | 'outcome'>;
  readonly queueJobs: Gauge<'queue' | 'state'>;
  readonly jobDuration: Histogram<'queue' | 'outcome'>;

  // Tracing (src/observability/tracing.ts).
  readonly spansDropped: Counter<'reason'>;
  readonly spansExported: Counter;

  /** Reads the job counts of every queue (set by services once the queues exist). */
  queueSource: (() => Promise<{ name: string; counts: Record<string, number> }[]>) | undefined;

  constructor(registry: Registry, options: { maxConnectorSeries: number }) {
    const registers = [registry];
    const connectorSeries = new ConnectorSeries(options.maxConnectorSeries, (tenant, connector) => new ConnectorExecutions(tenant, connector, this.executeDuration.series({ tenant, connector })));
    this.connectorSeries = connectorSeries;
    this.executeRequests = new Counter({
      name: 'gatehouse_execute_requests_total',
      help: 'Connector executions answered, by tenant, connector, HTTP method, status class (2xx…5xx) and cache result (HIT, MISS, REVALIDATED, BYPASS)',
      labelNames: ['tenant', 'connector', 'method', 'status_class', 'cache'],
      registers,
      collect() {
        for (const series of connectorSeries.all()) series.flush(this);
      },
    });
    this.executeDuration = new SeriesHistogram({
      name: 'gatehouse_execute_duration_seconds',
      help: 'Time from the execute request arriving to its answer, by tenant and connector',
      labelNames: ['tenant', 'connector'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.executeStageDuration = new SeriesHistogram({
      name: 'gatehouse_execute_stage_duration_seconds',
      help: 'Time an execution spent in one part: template (rendering request and response templates), cache (response cache lookups and writes), upstream (the HTTP call)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    const stage = (name: string) => this.executeStageDuration.series({ stage: name });
    this.stages = { template: stage('template'), cache: stage('cache'), upstream: stage('upstream') };
    this.upstreamErrors = new Counter({
      name: 'gatehouse_upstream_errors_total',
      help: 'Upstream calls that got no HTTP answer, by kind: timeout, refused, tls, dns, reset, unreachable, blocked (destination refused by the address policy), too_large',
      labelNames: ['tenant', 'connector', 'kind'],
      registers,
    });
    this.rateLimited = new Counter({
      name: 'gatehouse_rate_limited_total',
      help: 'Executions refused with 429 RATE_LIMITED, by tenant and scope (tenant = the tenant\'s limit, user = the per-user limit)',
      labelNames: ['tenant', 'scope'],
      registers,
    });
    this.tokenRequests = new Counter({
      name: 'gatehouse_token_requests_total',
      help: 'Requests to OAuth token endpoints, by outcome (ok, failed)',
      labelNames: ['outcome'],
      registers,
    });
    this.tokenCacheLookups = new Counter({
      name: 'gatehouse_token_cache_lookups_total',
      help: 'Token cache lookups, by result (hit = a cached token was used, miss = a token had to be requested)',
      labelNames: ['result'],
      registers,
    });
    this.tokenWaits = new Counter({
      name: 'gatehouse_token_single_flight_waits_total',
      help: 'Callers that waited for another caller\'s token request instead of making their own (kind: process = same process, redis = another process held the lock)',
      labelNames: ['kind'],
      registers,
    });
    this.webhookDeliveries = new Counter({
      name: 'gatehouse_webhook_deliveries_total',
      help: 'Git webhook deliveries, by source, event and outcome (queued, ignored, duplicate, rejected, not_configured, invalid, failed)',
      labelNames: ['source', 'event', 'outcome'],
      registers,
    });
    const queueSource = () => this.queueSource;
    this.queueJobs = new Gauge({
      name: 'gatehouse_queue_jobs',
      help: 'Jobs per queue and state (waiting, active, delayed, prioritized, failed), read from Redis at scrape time',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        const source = queueSource();
        if (source === undefined) return;
        // A scrape while Redis is away reports no queue series rather than failing the whole scrape.
        const queues = await source().catch(() => []);
        this.reset();
        for (const q of queues) {
          for (const state of QUEUE_STATES) this.set({ queue: q.name, state }, q.counts[state] ?? 0);
        }
      },
    });
    this.jobDuration = new Histogram({
      name: 'gatehouse_queue_job_duration_seconds',
      help: 'Processing time of queue jobs run by this process, by queue and outcome (completed, failed)',
      labelNames: ['queue', 'outcome'],
      buckets: JOB_BUCKETS,
      registers,
    });
    this.spansDropped = new Counter({
      name: 'gatehouse_trace_spans_dropped_total',
      help: 'Finished spans not exported, by reason (queue_full = the export queue was full, export_failed = the OTLP endpoint did not take them)',
      labelNames: ['reason'],
      registers,
    });
    this.spansExported = new Counter({ name: 'gatehouse_trace_spans_exported_total', help: 'Spans the OTLP endpoint accepted', registers });
  }
}

/** `2xx` … `5xx` for an HTTP status. */
export function statusClass(status: number): string {
  return status >= 500 ? '5xx' : status >= 400 ? '4xx' : status >= 300 ? '3xx' : status >= 200 ? '2xx' : '1xx';
}
