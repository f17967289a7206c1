import { Counter, type Registry } from 'prom-client';
import { SKIP_REASONS, type SkipReason } from './policy.js';

/** Prometheus counters of the response cache, registered once per process on `services.metrics`. */
export class CacheMetrics {
  readonly hits: Counter;
  readonly memoryHits: Counter;
  readonly misses: Counter;
  readonly revalidated: Counter;
  readonly bypass: Counter;
  readonly stores: Counter;
  readonly storeSkips: Counter<'reason'>;
  readonly coalesced: Counter;
  readonly errors: Counter<'op'>;
  /**
   * Skips counted since the last scrape, by reason: `inc({ reason })` validates and hashes the
   * label set each time, and a no-store upstream makes every miss a skip. Handed over on collect.
   */
  private skipsHeld = new Map<SkipReason, number>();

  constructor(registry: Registry) {
    const registers = [registry];
    this.hits = new Counter({ name: 'gatehouse_cache_hits_total', help: 'Executions answered from the response cache without an upstream request', registers });
    this.memoryHits = new Counter({ name: 'gatehouse_cache_memory_hits_total', help: 'Hits answered from the per-process memory tier (a subset of gatehouse_cache_hits_total)', registers });
    this.misses = new Counter({ name: 'gatehouse_cache_misses_total', help: 'Cache lookups that ended in an upstream request (stored or not)', registers });
    this.revalidated = new Counter({ name: 'gatehouse_cache_revalidated_total', help: 'Stale entries served after the upstream answered 304', registers });
    this.bypass = new Counter({ name: 'gatehouse_cache_bypass_total', help: 'Executions that did not consult the cache (method, Test Connection, cache Redis unavailable)', registers });
    this.stores = new Counter({ name: 'gatehouse_cache_stores_total', help: 'Upstream responses written to the cache (new or refreshed)', registers });
    this.storeSkips = new Counter({
      name: 'gatehouse_cache_store_skips_total',
      help: 'Upstream responses to GET/HEAD not written to the cache, by reason',
      labelNames: ['reason'],
      registers,
      collect: () => this.flushSkips(),
    });
    this.coalesced = new Counter({ name: 'gatehouse_cache_coalesced_total', help: 'Concurrent misses served by another caller\'s upstream request', registers });
    this.errors = new Counter({ name: 'gatehouse_cache_errors_total', help: 'Cache Redis operations that failed (the request went on without the cache)', labelNames: ['op'], registers });
    // Zero-valued series exist from the start, so dashboards and rate() see every reason.
    for (const reason of SKIP_REASONS) this.storeSkips.inc({ reason }, 0);
  }

  skip(reason: SkipReason): void {
    this.skipsHeld.set(reason, (this.skipsHeld.get(reason) ?? 0) + 1);
  }

  private flushSkips(): void {
    if (this.skipsHeld.size === 0) return;
    const held = this.skipsHeld;
    this.skipsHeld = new Map();
    for (const [reason, n] of held) this.storeSkips.inc({ reason }, n);
  }
}
