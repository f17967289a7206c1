import type { ChangeFeed } from '../tenants/changes.js';
import type { Resolved } from './store.js';

/** What the memory tier reads through: `SecretStore.resolve` (one Redis round trip, decryption in process). */
export interface ValueSource {
  resolve(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): Promise<Resolved>;
}

/** The values of one tenant this process holds, per set of names (one set per connector). */
interface TenantValues {
  /** Bumped by every change of the tenant: a read that began before it must not be kept. */
  generation: number;
  byNames: Map<string, Entry>;
}

interface Entry {
  reading: Promise<Readonly<Resolved>>;
  /** Set once the read finished: later requests take it without a promise. */
  value: Readonly<Resolved> | undefined;
}

/**
 * Secrets and variables for the request path, from memory. The first request of a connector reads
 * its names through the store; later ones share that answer until the tenant changes. Every secret
 * and variable write bumps the tenant revision and publishes it (src/secrets/store.ts), so the
 * change feed drops a tenant's values here at once in the writing process, within milliseconds in
 * others (pub/sub), and within the periodic revision check if a message was lost — the same bound
 * as a connector change. Plaintext exists only in this process's memory, never in a cache store.
 * The maps handed out are shared between requests and must not be changed.
 */
export class ValuesInMemory {
  private readonly tenants = new Map<string, TenantValues>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly source: ValueSource,
    private readonly feed: ChangeFeed,
    /** Tenants held at most; the oldest is dropped beyond it. */
    private readonly maxTenants = 10_000,
    /** Name sets held per tenant at most. */
    private readonly maxPerTenant = 1_000,
  ) {}

  /** The values when this process holds them (no promise); undefined → `resolve`. */
  held(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): Readonly<Resolved> | undefined {
    return this.tenants.get(tenant)?.byNames.get(namesKey(secretNames, variableNames))?.value;
  }

  resolve(tenant: string, secretNames: readonly string[], variableNames: readonly string[]): Promise<Readonly<Resolved>> {
    this.unsubscribe ??= this.feed.subscribe((changed) => this.forget(changed));
    let state = this.tenants.get(tenant);
    if (state === undefined) {
      state = { generation: 0, byNames: new Map() };
      this.tenants.set(tenant, state);
      if (this.tenants.size > this.maxTenants) this.tenants.delete(this.tenants.keys().next().value!);
    }
    const key = namesKey(secretNames, variableNames);
    const held = state.byNames.get(key);
    if (held !== undefined) return held.reading;
    const generation = state.generation;
    const entry: Entry = { reading: this.source.resolve(tenant, secretNames, variableNames), value: undefined };
    const s = state;
    if (s.byNames.size >= this.maxPerTenant) s.byNames.clear();
    s.byNames.set(key, entry);
    entry.reading.then(
      (value) => {
        // Kept only when no change happened during the read (a change already dropped the entry).
        if (s.generation === generation && s.byNames.get(key) === entry) entry.value = value;
      },
      () => {
        // Failures are not kept: the next request reads again.
        if (s.byNames.get(key) === entry) s.byNames.delete(key);
      },
    );
    return entry.reading;
  }

  /** Drops what this process holds for `tenant`. */
  forget(tenant: string): void {
    const state = this.tenants.get(tenant);
    if (state === undefined) return;
    state.generation++;
    state.byNames.clear();
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.tenants.clear();
  }
}

function namesKey(secretNames: readonly string[], variableNames: readonly string[]): string {
  return variableNames.length === 0 ? secretNames.join('\n') : `${secretNames.join('\n')}\0${variableNames.join('\n')}`;
}
