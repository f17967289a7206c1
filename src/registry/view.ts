import { isValidTenantId } from '../tenants/model.js';
import type { StoredConnector } from './model.js';
import type { RegistryStore } from './store.js';

export interface ViewEntry<T> {
  stored: StoredConnector;
  compiled: T;
}

export interface RegistryViewOptions<T, E> {
  /**
   * What an entry holds, made from the stored definition and its compiled form (default: both).
   * The request path keeps only the compiled form: a stored definition it never reads, held for
   * every connector a process has served, is about a kilobyte each (admin reads go to the store).
   */
  entry?: (stored: StoredConnector, compiled: T) => E;
  /** Tenants held at most; the oldest is dropped beyond it. */
  maxTenants?: number;
  /** Connectors (and remembered misses) held per tenant at most. */
  maxPerTenant?: number;
}

interface TenantState<E> {
  entries: Map<string, Promise<E | undefined>>;
  /** The entries whose load has finished (see held()); each goes with its promise in `entries`. */
  settled: Map<string, { entry: E | undefined }>;
  /** Set for a tenant without any registry state: not tracked by the feed, so its misses expire. */
  expiresAt?: number;
}

/** How long a tenant without registry state is remembered as empty (docs/design.md#read-your-writes: ≤ 1 s). */
const EMPTY_TTL_MS = 1000;

/**
 * The request path's registry: connectors loaded on first use, compiled once per definition
 * revision and kept in memory. A tenant's entries are dropped when the change feed reports a change
 * (own writes at once, other processes via pub/sub or the periodic revision check, docs/design.md#read-your-writes)
 * and reloaded lazily. A compiled connector is reused across reloads while its revision is equal.
 */
export class RegistryView<T, E = ViewEntry<T>> {
  private readonly tenants = new Map<string, TenantState<E>>();
  /** tenant → permalink → last compiled form, reused while the revision is unchanged. */
  private readonly compiledMemo = new Map<string, Map<string, { revision: string; compiled: T }>>();
  private readonly unsubscribe: () => void;
  private readonly maxTenants: number;
  private readonly maxPerTenant: number;
  private readonly entry: (stored: StoredConnector, compiled: T) => E;

  constructor(
    private readonly store: RegistryStore,
    private readonly compile: (stored: StoredConnector) => T,
    options: RegistryViewOptions<T, E> = {},
  ) {
    this.entry = options.entry ?? ((stored, compiled) => ({ stored, compiled }) as E);
    this.maxTenants = options.maxTenants ?? 10_000;
    this.maxPerTenant = options.maxPerTenant ?? 10_000;
    this.unsubscribe = store.changes.subscribe((tenant) => this.tenants.delete(tenant));
  }

  get(tenant: string, permalink: string): Promise<E | undefined> {
    if (!isValidTenantId(tenant) || permalink === '' || permalink.length > 255) return Promise.resolve(undefined);
    let state = this.tenants.get(tenant);
    if (state !== undefined && state.expiresAt !== undefined && state.expiresAt <= Date.now()) {
      this.tenants.delete(tenant);
      state = undefined;
    }
    if (state === undefined) {
      state = { entries: new Map(), settled: new Map() };
      this.tenants.set(tenant, state);
      if (this.tenants.size > this.maxTenants) this.evictOldestTenant();
    }
    const hit = state.entries.get(permalink);
    if (hit !== undefined) return hit;
    const pending = this.load(tenant, permalink, state);
    if (state.entries.size >= this.maxPerTenant) {
      state.entries.clear();
      state.settled.clear();
    }
    state.entries.set(permalink, pending);
    const s = state;
    pending.then(
      (entry) => {
        // Still the tenant's current state and this permalink's current load (a change drops both).
        if (this.tenants.get(tenant) === s && s.entries.get(permalink) === pending) s.settled.set(permalink, { entry });
      },
      () => {},
    );
    return pending;
  }

  /**
   * What `get` would answer, when this process holds it already: `{ entry }` without a promise;
   * undefined when only `get` can tell (not loaded yet, still loading, or an expired empty tenant).
   */
  held(tenant: string, permalink: string): { entry: E | undefined } | undefined {
    const state = this.tenants.get(tenant);
    if (state === undefined || (state.expiresAt !== undefined && state.expiresAt <= Date.now())) return undefined;
    return state.settled.get(permalink);
  }

  /** Stops listening for changes and drops everything held. */
  close(): void {
    this.unsubscribe();
    this.tenants.clear();
    this.compiledMemo.clear();
  }

  private async load(tenant: string, permalink: string, state: TenantState<E>): Promise<E | undefined> {
    try {
      const { stored, revision } = await this.store.load(tenant, permalink);
      if (revision === 0) {
        // No registry state ever written for this id (any caller may send any id): tracking it
        // would cost a revision check per interval, so the miss expires instead.
        state.expiresAt ??= Date.now() + EMPTY_TTL_MS;
      } else {
        // A newer revision than this process knew means a change whose message is still on its
        // way: the feed then drops the tenant's older entries (and this one is already current).
        this.store.changes.observe(tenant, revision);
      }
      let memo = this.compiledMemo.get(tenant);
      if (stored === undefined) {
        memo?.delete(permalink);
        return undefined;
      }
      const known = memo?.get(permalink);
      if (known !== undefined && known.revision === stored.revision) return this.entry(stored, known.compiled);
      const compiled = this.compile(stored);
      if (memo === undefined) {
        memo = new Map();
        this.compiledMemo.set(tenant, memo);
      }
      if (memo.size >= this.maxPerTenant) memo.clear();
      memo.set(permalink, { revision: stored.revision, compiled });
      return this.entry(stored, compiled);
    } catch (err) {
      // Failed loads (Redis down, a definition that does not compile) are retried by the next call.
      if (state.entries.get(permalink) !== undefined) state.entries.delete(permalink);
      state.settled.delete(permalink);
      throw err;
    }
  }

  private evictOldestTenant(): void {
    const oldest = this.tenants.keys().next().value as string;
    this.tenants.delete(oldest);
    this.compiledMemo.delete(oldest);
  }
}
