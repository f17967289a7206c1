import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

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

/**
 * Remembers which tenant/connector pairs have their own series. The first `max` pairs seen keep
 * their names for the life of the process; any further pair is reported as `connector="other"`
 * (its tenant label kept), so a tenant with thousands of connectors cannot blow up the scrape.
 */
export class ConnectorSeries {
  private readonly known = new Map<string, Map<string, true>>();
  private size = 0;

  constructor(readonly max: number) {}

  /** The connector label to use for `connector` of `tenant`. */
  label(tenant: string, connector: string): string {
    let perTenant = this.known.get(tenant);
    if (perTenant?.has(connector) === true) return connector;
    if (this.size >= this.max) return OTHER_CONNECTOR;
    if (perTenant === undefined) {
      perTenant = new Map();
      this.known.set(tenant, perTenant);
    }
    perTenant.set(connector, true);
    this.size++;
    return connector;
  }
}

/**
 * Execute-path observations waiting for the next scrape. Each execution adds one count and one to
 * three durations; giving them to prom-client one by one validates and hashes the label set of each
 * (a visible share of a cache hit). Here a series is found by one string key, and the batch goes to
 * prom-client when a scrape collects the metrics (or when it grows past a bound).
 */
export class ExecutionBatch {
  private counts = new Map<string, { labels: Record<'tenant' | 'connector' | 'method' | 'status_class' | 'cache', string>; n: number }>();
  private durations = new Map<string, { labels: Record<'tenant' | 'connector', string>; seconds: number[] }>();
  private stages = { template: [] as number[], cache: [] as number[], upstream: [] as number[] };
  private held = 0;

  constructor(
    private readonly metrics: Pick<GatehouseMetrics, 'executeRequests' | 'executeDuration' | 'executeStageDuration'>,
    /**
     * Executions held at most before they are handed over without waiting for a scrape. Small on
     * purpose: the hand-over blocks the event loop for as long as it takes (it is one synchronous
     * loop), and it costs more per execution when large — 10,000 took 22–55 ms (3.4–5.5 µs per
     * execution), 256 take 0.3 ms (1.2 µs per execution) on the project's machine.
     */
    private readonly max = 256,
  ) {}

  add(tenant: string, connector: string, method: string, statusClass: string, cache: string, seconds: number, stages: { template: number; cache: number | undefined; upstream: number | undefined }): void {
    const series = `${tenant}\u0000${connector}`;
    const key = `${series}\u0000${method}\u0000${statusClass}\u0000${cache}`;
    const count = this.counts.get(key);
    if (count === undefined) this.counts.set(key, { labels: { tenant, connector, method, status_class: statusClass, cache }, n: 1 });
    else count.n++;
    const duration = this.durations.get(series);
    if (duration === undefined) this.durations.set(series, { labels: { tenant, connector }, seconds: [seconds] });
    else duration.seconds.push(seconds);
    this.stages.template.push(stages.template);
    if (stages.cache !== undefined) this.stages.cache.push(stages.cache);
    if (stages.upstream !== undefined) this.stages.upstream.push(stages.upstream);
    if (++this.held >= this.max) this.flush();
  }

  /** Hands everything held to the prom-client metrics (called by their `collect`). */
  flush(): void {
    if (this.held === 0) return;
    const { counts, durations, stages } = this;
    this.counts = new Map();
    this.durations = new Map();
    this.stages = { template: [], cache: [], upstream: [] };
    this.held = 0;
    const m = this.metrics;
    for (const c of counts.values()) m.executeRequests.inc(c.labels, c.n);
    for (const d of durations.values()) for (const s of d.seconds) m.executeDuration.observe(d.labels, s);
    for (const stage of ['template', 'cache', 'upstream'] as const) {
      const values = stages[stage];
      if (values.length === 0) continue;
      const child = m.executeStageDuration.labels({ stage });
      for (const s of values) child.observe(s);
    }
  }
}

export type UpstreamErrorKind = 'timeout' | 'refused' | 'tls' | 'dns' | 'reset' | 'unreachable' | 'blocked' | 'too_large';

export class GatehouseMetrics {
  readonly connectorSeries: ConnectorSeries;

  // The execute path.
  readonly executeRequests: Counter<'tenant' | 'connector' | 'method' | 'status_class' | 'cache'>;
  readonly executeDuration: Histogram<'tenant' | 'connector'>;
  readonly executeStageDuration: Histogram<'stage'>;
  /** Observations of the three above, handed over at each scrape. */
  readonly executions: ExecutionBatch;
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
    this.connectorSeries = new ConnectorSeries(options.maxConnectorSeries);
    this.executions = new ExecutionBatch(this);
    const collect = () => this.executions.flush();
    this.executeRequests = new Counter({
      name: 'gatehouse_execute_requests_total',
      help: 'Connector executions answered, by tenant, connector, HTTP method, status class (2xx…5xx) and cache result (HIT, MISS, REVALIDATED, BYPASS)',
      labelNames: ['tenant', 'connector', 'method', 'status_class', 'cache'],
      registers,
      collect,
    });
    this.executeDuration = new Histogram({
      name: 'gatehouse_execute_duration_seconds',
      help: 'Time from the execute request arriving to its answer, by tenant and connector',
      labelNames: ['tenant', 'connector'],
      buckets: LATENCY_BUCKETS,
      registers,
      collect,
    });
    this.executeStageDuration = new Histogram({
      name: 'gatehouse_execute_stage_duration_seconds',
      help: 'Time an execution spent in one part: template (rendering request and response templates), cache (response cache lookups and writes), upstream (the HTTP call)',
      labelNames: ['stage'],
      buckets: LATENCY_BUCKETS,
      registers,
      collect,
    });
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
