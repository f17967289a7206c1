import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';

/**
 * Usage minute buckets in Redis, shared by every process (the dashboard's charts).
 *
 * Each process counts executions in memory and adds its counts to Redis every few seconds
 * (HINCRBY, one pipeline), so the request path never waits for Redis and N processes simply add
 * up. One hash per tenant and minute, `gh:{t:<tenant>}:usage:<minute>`, fields `<field>:<connector>`:
 * `n` requests, `e4`/`e5` 4xx/5xx answers, `cl` cache lookups (not BYPASS), `ch` cache hits (HIT
 * or REVALIDATED), `l0`…`l14` latency buckets (LATENCY_BOUNDS_MS). Buckets expire after 25 hours.
 * Percentiles are read back from the merged latency buckets (interpolated inside a bucket).
 *
 * Queues get one hash per minute, `gh:usage:queues:<minute>`: `done:<queue>` / `failed:<queue>`
 * (jobs finished by any worker that minute) and `depth:<queue>` (jobs waiting, delayed or active
 * when a worker last looked).
 */

export const LATENCY_BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 30000, Infinity];
const TTL_S = 25 * 3600;
const FLUSH_MS = 5000;

/** The label used for executions that named no existing connector (404s), so callers cannot mint fields. */
export const UNKNOWN_CONNECTOR = '(unknown)';

const usageKey = (tenant: string, minute: number) => `gh:{t:${tenant}}:usage:${minute}`;
const queueKey = (minute: number) => `gh:usage:queues:${minute}`;

interface Counts {
  n: number;
  e4: number;
  e5: number;
  cl: number;
  ch: number;
  l: number[];
}

function emptyCounts(): Counts {
  return { n: 0, e4: 0, e5: 0, cl: 0, ch: 0, l: new Array<number>(LATENCY_BOUNDS_MS.length).fill(0) };
}

function latencyBucket(ms: number): number {
  let i = 0;
  while (ms > LATENCY_BOUNDS_MS[i]!) i++;
  return i;
}

export type UsageRange = 'hour' | 'day';
export const RANGES: Record<UsageRange, { minutes: number; stepMinutes: number }> = {
  hour: { minutes: 60, stepMinutes: 1 },
  day: { minutes: 1440, stepMinutes: 10 },
};

export interface UsagePoint {
  /** Start of the step, ISO 8601. */
  t: string;
  requests: number;
  errors_4xx: number;
  errors_5xx: number;
  cache_lookups: number;
  cache_hits: number;
  /** Hits / lookups, null when nothing was looked up. */
  cache_hit_ratio: number | null;
  p50_ms: number | null;
  p95_ms: number | null;
}

export interface UsageReport {
  range: UsageRange;
  step_s: number;
  totals: Omit<UsagePoint, 't'>;
  series: UsagePoint[];
  /** Per connector totals (tenant reports only), most requested first. */
  connectors?: (Omit<UsagePoint, 't'> & { permalink: string })[];
}

export interface QueueUsagePoint {
  t: string;
  queues: Record<string, { depth: number | null; completed: number; failed: number }>;
}

export class UsageStore {
  /** minute → tenant → connector → counts not yet written. */
  private pending = new Map<number, Map<string, Map<string, Counts>>>();
  private queuePending = new Map<number, Map<string, number>>();
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  /**
   * The current minute since the epoch, advanced by a timer at each minute boundary (started by the
   * first execution counted): reading the clock for every execution took 90 ns, a fifth of what the
   * execute metrics cost a cache hit. Executions answered while that timer waits for a busy event
   * loop count in the minute before, a few milliseconds' worth.
   */
  private minute: number | undefined;
  private minuteTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisClient,
    private readonly log: Logger,
    private readonly flushMs = FLUSH_MS,
  ) {}

  /** Counts one execution (in memory; written by the next flush). */
  record(tenant: string, connector: string, status: number, cache: string, totalMs: number): void {
    const minute = this.minute ?? this.nextMinute();
    let byTenant = this.pending.get(minute);
    if (byTenant === undefined) this.pending.set(minute, (byTenant = new Map()));
    let byConnector = byTenant.get(tenant);
    if (byConnector === undefined) byTenant.set(tenant, (byConnector = new Map()));
    let c = byConnector.get(connector);
    if (c === undefined) byConnector.set(connector, (c = emptyCounts()));
    c.n++;
    if (status >= 500) c.e5++;
    else if (status >= 400) c.e4++;
    if (cache !== 'BYPASS') {
      c.cl++;
      if (cache === 'HIT' || cache === 'REVALIDATED') c.ch++;
    }
    c.l[latencyBucket(totalMs)]!++;
    this.schedule();
  }

  private nextMinute(): number {
    const now = Date.now();
    this.minute = Math.floor(now / 60_000);
    // Timers never fire early; one that fires before the wall clock's minute ends (a clock step) finds the same minute and waits again.
    this.minuteTimer = setTimeout(() => this.nextMinute(), 60_000 - (now % 60_000));
    this.minuteTimer.unref();
    return this.minute;
  }

  /** Counts a finished queue job (worker processes). */
  recordJob(queue: string, outcome: 'completed' | 'failed'): void {
    const minute = Math.floor(Date.now() / 60_000);
    let m = this.queuePending.get(minute);
    if (m === undefined) this.queuePending.set(minute, (m = new Map()));
    const field = `${outcome === 'completed' ? 'done' : 'failed'}:${queue}`;
    m.set(field, (m.get(field) ?? 0) + 1);
    this.schedule();
  }

  /** Records the current depth of each queue in this minute's bucket (last writer wins). */
  async recordDepths(depths: Record<string, number>): Promise<void> {
    const key = queueKey(Math.floor(Date.now() / 60_000));
    const fields: string[] = [];
    for (const [q, d] of Object.entries(depths)) fields.push(`depth:${q}`, String(d));
    if (fields.length === 0) return;
    await this.redis.multi().hset(key, ...fields).expire(key, TTL_S).exec();
  }

  private schedule(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, this.flushMs);
    this.timer.unref();
  }

  /** Writes the pending counts to Redis. On failure they are kept and retried with the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.write().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async write(): Promise<void> {
    const pending = this.pending;
    const queuePending = this.queuePending;
    if (pending.size === 0 && queuePending.size === 0) return;
    this.pending = new Map();
    this.queuePending = new Map();
    try {
      // One pipeline per key: on Redis Cluster each tenant's hash lives in its own slot.
      const writes: Promise<unknown>[] = [];
      for (const [minute, byTenant] of pending) {
        for (const [tenant, byConnector] of byTenant) {
          const key = usageKey(tenant, minute);
          const p = this.redis.pipeline();
          for (const [connector, c] of byConnector) {
            const add = (field: string, n: number) => {
              if (n > 0) p.hincrby(key, `${field}:${connector}`, n);
            };
            add('n', c.n);
            add('e4', c.e4);
            add('e5', c.e5);
            add('cl', c.cl);
            add('ch', c.ch);
            c.l.forEach((n, i) => add(`l${i}`, n));
          }
          p.expire(key, TTL_S);
          writes.push(p.exec().then(throwPipelineError));
        }
      }
      for (const [minute, fields] of queuePending) {
        const key = queueKey(minute);
        const p = this.redis.pipeline();
        for (const [field, n] of fields) p.hincrby(key, field, n);
        p.expire(key, TTL_S);
        writes.push(p.exec().then(throwPipelineError));
      }
      await Promise.all(writes);
    } catch (err) {
      // Keep the counts for the next attempt (a Redis fail-over must not lose the chart's minutes).
      for (const [minute, byTenant] of pending) {
        for (const [tenant, byConnector] of byTenant) {
          for (const [connector, c] of byConnector) this.merge(minute, tenant, connector, c);
        }
      }
      for (const [minute, fields] of queuePending) {
        let m = this.queuePending.get(minute);
        if (m === undefined) this.queuePending.set(minute, (m = new Map()));
        for (const [f, n] of fields) m.set(f, (m.get(f) ?? 0) + n);
      }
      this.log.warn({ err: { message: (err as Error).message } }, 'usage counts could not be written to Redis; retrying');
      this.schedule();
    }
  }

  private merge(minute: number, tenant: string, connector: string, c: Counts): void {
    let byTenant = this.pending.get(minute);
    if (byTenant === undefined) this.pending.set(minute, (byTenant = new Map()));
    let byConnector = byTenant.get(tenant);
    if (byConnector === undefined) byTenant.set(tenant, (byConnector = new Map()));
    const into = byConnector.get(connector) ?? emptyCounts();
    into.n += c.n;
    into.e4 += c.e4;
    into.e5 += c.e5;
    into.cl += c.cl;
    into.ch += c.ch;
    c.l.forEach((n, i) => (into.l[i]! += n));
    byConnector.set(connector, into);
  }

  /** A tenant's usage (all connectors, or one) over the last hour or day. */
  async report(tenant: string, range: UsageRange, connector?: string): Promise<UsageReport> {
    const { minutes, stepMinutes } = RANGES[range];
    const last = Math.floor(Date.now() / 60_000);
    const first = last - minutes + 1;
    const p = this.redis.pipeline();
    for (let m = first; m <= last; m++) p.hgetall(usageKey(tenant, m));
    const results = (await p.exec()) ?? [];
    const series: UsagePoint[] = [];
    const total = emptyCounts();
    const perConnector = new Map<string, Counts>();
    let step = emptyCounts();
    results.forEach(([err, value], i) => {
      const minute = first + i;
      if (err === null && value !== null) {
        for (const [field, raw] of Object.entries(value as Record<string, string>)) {
          const sep = field.indexOf(':');
          const name = field.slice(0, sep);
          const of = field.slice(sep + 1);
          if (connector !== undefined && of !== connector) continue;
          const n = Number(raw);
          addField(step, name, n);
          addField(total, name, n);
          if (connector === undefined) {
            let c = perConnector.get(of);
            if (c === undefined) perConnector.set(of, (c = emptyCounts()));
            addField(c, name, n);
          }
        }
      }
      if ((minute - first + 1) % stepMinutes === 0) {
        series.push({ t: new Date((minute - stepMinutes + 1) * 60_000).toISOString(), ...summary(step) });
        step = emptyCounts();
      }
    });
    return {
      range,
      step_s: stepMinutes * 60,
      totals: summary(total),
      series,
      ...(connector === undefined
        ? { connectors: [...perConnector].map(([permalink, c]) => ({ permalink, ...summary(c) })).sort((a, b) => b.requests - a.requests) }
        : {}),
    };
  }

  /** Queue depth and throughput over the last hour or day. */
  async queueReport(range: UsageRange, queues: string[]): Promise<{ range: UsageRange; step_s: number; series: QueueUsagePoint[] }> {
    const { minutes, stepMinutes } = RANGES[range];
    const last = Math.floor(Date.now() / 60_000);
    const first = last - minutes + 1;
    const p = this.redis.pipeline();
    for (let m = first; m <= last; m++) p.hgetall(queueKey(m));
    const results = (await p.exec()) ?? [];
    const series: QueueUsagePoint[] = [];
    let step: QueueUsagePoint['queues'] = {};
    const fresh = () => Object.fromEntries(queues.map((q) => [q, { depth: null as number | null, completed: 0, failed: 0 }]));
    step = fresh();
    results.forEach(([err, value], i) => {
      const minute = first + i;
      if (err === null && value !== null) {
        for (const [field, raw] of Object.entries(value as Record<string, string>)) {
          const sep = field.indexOf(':');
          const q = step[field.slice(sep + 1)];
          if (q === undefined) continue;
          const n = Number(raw);
          const name = field.slice(0, sep);
          if (name === 'done') q.completed += n;
          else if (name === 'failed') q.failed += n;
          else if (name === 'depth') q.depth = Math.max(q.depth ?? 0, n);
        }
      }
      if ((minute - first + 1) % stepMinutes === 0) {
        series.push({ t: new Date((minute - stepMinutes + 1) * 60_000).toISOString(), queues: step });
        step = fresh();
      }
    });
    return { range, step_s: stepMinutes * 60, series };
  }

  close(): Promise<void> {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    clearTimeout(this.minuteTimer);
    this.minute = undefined;
    return this.flush();
  }
}

function throwPipelineError(results: [Error | null, unknown][] | null): void {
  for (const [err] of results ?? []) if (err !== null) throw err;
}

function addField(c: Counts, name: string, n: number): void {
  if (name === 'n' || name === 'e4' || name === 'e5' || name === 'cl' || name === 'ch') c[name] += n;
  else if (name.startsWith('l')) {
    const i = Number(name.slice(1));
    if (i >= 0 && i < c.l.length) c.l[i]! += n;
  }
}

function summary(c: Counts): Omit<UsagePoint, 't'> {
  return {
    requests: c.n,
    errors_4xx: c.e4,
    errors_5xx: c.e5,
    cache_lookups: c.cl,
    cache_hits: c.ch,
    cache_hit_ratio: c.cl === 0 ? null : c.ch / c.cl,
    p50_ms: percentile(c.l, 0.5),
    p95_ms: percentile(c.l, 0.95),
  };
}

/** The q-quantile of a latency bucket histogram, interpolated linearly inside its bucket. */
export function percentile(buckets: number[], q: number): number | null {
  const count = buckets.reduce((a, b) => a + b, 0);
  if (count === 0) return null;
  const rank = q * count;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i]!;
    if (n > 0 && seen + n >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const upper = Number.isFinite(LATENCY_BOUNDS_MS[i]!) ? LATENCY_BOUNDS_MS[i]! : lower * 2;
      return Math.round((lower + ((rank - seen) / n) * (upper - lower)) * 10) / 10;
    }
    seen += n;
  }
  return null;
}
