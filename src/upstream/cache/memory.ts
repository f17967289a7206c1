import type { HeaderMap } from './policy.js';

/**
 * A per-process copy of recently used *fresh* entries, so that a hit costs one hash and one map
 * lookup instead of a Redis round trip and a policy evaluation. It never decides anything the shared
 * entry did not: a memory entry is made from a Redis entry (or a just-stored answer) that the policy
 * found fresh for this exact request, and it lives at most `ttlMs` (default 1 s) and never past
 * that entry's freshness. Consequences, documented in docs/cache.md:
 *  - a connector update is immediate (the revision is part of the key);
 *  - a purge is immediate on the process that runs it and reaches the others within `ttlMs`,
 *    the same one-second bound every admin write has (docs/design.md#read-your-writes).
 * Bounded by total body bytes; insertion order evicts first (entries are short-lived anyway).
 */

export interface MemoryEntry {
  /** Connector key prefix, so a purge can drop a connector's entries. */
  prefix: string;
  status: number;
  /** Stored headers, `age` included (its value is replaced per answer). */
  headers: HeaderMap;
  body: Buffer;
  /** `Age` of the entry, in seconds, when `at` was taken. */
  age: number;
  at: number;
  /** Epoch ms after which the entry must be looked up in Redis again. */
  until: number;
}

const ENTRY_OVERHEAD_BYTES = 512;

export class MemoryTier {
  private readonly entries = new Map<string, MemoryEntry>();
  private bytes = 0;

  constructor(
    readonly ttlMs: number,
    private readonly maxBytes: number,
  ) {}

  get enabled(): boolean {
    return this.ttlMs > 0 && this.maxBytes > 0;
  }

  get(key: string, now: number): MemoryEntry | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.until <= now) {
      this.delete(key, entry);
      return undefined;
    }
    return entry;
  }

  /** `freshMs`: how long the entry stays fresh from now. */
  set(key: string, entry: Omit<MemoryEntry, 'until' | 'at'>, now: number, freshMs: number): void {
    if (!this.enabled) return;
    const lifetime = Math.min(this.ttlMs, freshMs);
    if (lifetime <= 0) return;
    const size = entry.body.length + ENTRY_OVERHEAD_BYTES;
    if (size > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.delete(key, old);
    // The oldest entries go first: when over the size bound, and when expired. Entries are kept at
    // most `ttlMs`, so without this sweep a process that served many connectors once would hold
    // every expired answer (body, headers, key) until the size bound is reached.
    for (const [k, e] of this.entries) {
      if (this.bytes + size <= this.maxBytes && e.until > now) break;
      this.delete(k, e);
    }
    // Written out, not spread: a spread copy gets a hidden class of its own in V8, one per entry.
    this.entries.set(key, { prefix: entry.prefix, status: entry.status, headers: entry.headers, body: entry.body, age: entry.age, at: now, until: now + lifetime });
    this.bytes += size;
  }

  dropPrefix(prefix: string): void {
    for (const [key, entry] of this.entries) if (entry.prefix === prefix) this.delete(key, entry);
  }

  clear(): void {
    this.entries.clear();
    this.bytes = 0;
  }

  get size(): number {
    return this.entries.size;
  }

  private delete(key: string, entry: MemoryEntry): void {
    this.entries.delete(key);
    this.bytes -= entry.body.length + ENTRY_OVERHEAD_BYTES;
  }
}
