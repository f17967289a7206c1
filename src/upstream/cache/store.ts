import { Cluster } from 'ioredis';
import type CachePolicy from 'http-cache-semantics';
import type { RedisClient } from '../../redis/connection.js';
import { connectorPattern, entryKey, generationKey, passKey, variantKey } from './key.js';
import type { HeaderMap } from './policy.js';

/**
 * Entries in the cache Redis. One value per entry, binary-safe:
 *
 *   byte 0        'E' entry | 'V' variant index
 *   bytes 1..4    length of the JSON metadata (uint32, big endian)
 *   metadata      entry: {g: generation, p: policy.toObject(), cc?: original Cache-Control}
 *                 index: {g: generation, v: [Vary-named header names]}
 *   rest          the upstream body, raw bytes (entries only)
 *
 * A lookup is one MGET of the generation counter and the entry key (same hash tag, so one slot),
 * plus one GET of the variant when the response named `Vary`. An entry whose generation differs from
 * the counter is treated as absent: that is how a purge takes effect at once and atomically, even
 * for a store that was in flight while the purge ran.
 */

export const MAX_ENTRY_BODY_BYTES = 1024 * 1024;
/** How long a stale entry with a validator is kept for revalidation after its freshness ends. */
export const DEFAULT_REVALIDATION_GRACE_MS = 60 * 60 * 1000;
/** Upper bound on any entry's Redis lifetime, whatever the upstream's max-age. */
export const MAX_STORE_TTL_MS = 30 * 24 * 60 * 60 * 1000;

const TYPE_ENTRY = 0x45; // 'E'
const TYPE_INDEX = 0x56; // 'V'

export interface StoredEntry {
  gen: string;
  policy: CachePolicy.CachePolicyObject;
  /** The upstream's Cache-Control when the policy was given a normalised one (policy.ts). */
  cacheControl: string | undefined;
  body: Buffer;
}

interface EntryMeta {
  g: string;
  p: CachePolicy.CachePolicyObject;
  cc?: string;
}

interface IndexMeta {
  g: string;
  v: string[];
}

export type Decoded = { kind: 'entry'; entry: StoredEntry } | { kind: 'index'; gen: string; vary: string[] };

function frame(type: number, meta: unknown, body?: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(meta), 'utf8');
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32BE(json.length, 1);
  return body === undefined ? Buffer.concat([head, json]) : Buffer.concat([head, json, body]);
}

export function encodeEntry(entry: StoredEntry): Buffer {
  const meta: EntryMeta = { g: entry.gen, p: entry.policy };
  if (entry.cacheControl !== undefined) meta.cc = entry.cacheControl;
  return frame(TYPE_ENTRY, meta, entry.body);
}

export function encodeIndex(gen: string, vary: readonly string[]): Buffer {
  const meta: IndexMeta = { g: gen, v: [...vary] };
  return frame(TYPE_INDEX, meta);
}

/** Undefined for anything that is not a well-formed record (a foreign or truncated value is a miss). */
export function decodeRecord(raw: Buffer | null | undefined): Decoded | undefined {
  if (raw === null || raw === undefined || raw.length < 5) return undefined;
  const len = raw.readUInt32BE(1);
  if (5 + len > raw.length) return undefined;
  let meta: unknown;
  try {
    meta = JSON.parse(raw.toString('utf8', 5, 5 + len));
  } catch {
    return undefined;
  }
  if (typeof meta !== 'object' || meta === null) return undefined;
  if (raw[0] === TYPE_ENTRY) {
    const m = meta as EntryMeta;
    if (typeof m.g !== 'string' || typeof m.p !== 'object' || m.p === null) return undefined;
    return { kind: 'entry', entry: { gen: m.g, policy: m.p, cacheControl: m.cc, body: raw.subarray(5 + len) } };
  }
  if (raw[0] === TYPE_INDEX) {
    const m = meta as IndexMeta;
    if (typeof m.g !== 'string' || !Array.isArray(m.v)) return undefined;
    return { kind: 'index', gen: m.g, vary: m.v };
  }
  return undefined;
}

export interface LookupResult {
  /** The purge generation read with the entry; undefined when no lookup was made (read it before writing). */
  gen: string | undefined;
  entry: StoredEntry | undefined;
  /** Where `entry` lives (or would live, for the Vary-less case); undefined when no lookup was made. */
  key: string | undefined;
  /** The last answer for this exact request was not storable: skip request coalescing. */
  pass: boolean;
}

export interface WriteInput {
  prefix: string;
  reqHash: string;
  gen: string;
  vary: readonly string[];
  requestHeaders: HeaderMap;
  policy: CachePolicy.CachePolicyObject;
  cacheControl: string | undefined;
  body: Buffer;
  ttlMs: number;
}

export interface PurgeResult {
  generation: number;
  removed: number;
}

export class CacheStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly graceMs: number = DEFAULT_REVALIDATION_GRACE_MS,
  ) {}

  async lookup(prefix: string, reqHash: string, requestHeaders: HeaderMap, flight: string): Promise<LookupResult> {
    const baseKey = entryKey(prefix, reqHash);
    const [genRaw, baseRaw, passRaw] = await this.redis.mgetBuffer(generationKey(prefix), baseKey, passKey(prefix, flight));
    const gen = genRaw === null || genRaw === undefined ? '0' : genRaw.toString('utf8');
    const pass = passRaw !== null && passRaw !== undefined;
    const base = decodeRecord(baseRaw);
    if (base === undefined) return { gen, entry: undefined, key: baseKey, pass };
    if (base.kind === 'entry') {
      return { gen, entry: base.entry.gen === gen ? base.entry : undefined, key: baseKey, pass };
    }
    if (base.gen !== gen) return { gen, entry: undefined, key: baseKey, pass };
    const key = variantKey(prefix, reqHash, base.vary, requestHeaders);
    const variant = decodeRecord(await this.redis.getBuffer(key));
    const entry = variant?.kind === 'entry' && variant.entry.gen === gen ? variant.entry : undefined;
    return { gen, entry, key, pass };
  }

  /** The connector's purge generation (see purge). */
  async generation(prefix: string): Promise<string> {
    return (await this.redis.get(generationKey(prefix))) ?? '0';
  }

  /** Redis lifetime: the freshness left, plus the revalidation grace when a validator exists. */
  storeTtl(freshMs: number, validator: boolean): number {
    return Math.min(MAX_STORE_TTL_MS, Math.max(0, freshMs) + (validator ? this.graceMs : 0));
  }

  async write(input: WriteInput): Promise<void> {
    const record = encodeEntry({ gen: input.gen, policy: input.policy, cacheControl: input.cacheControl, body: input.body });
    const px = Math.max(1, Math.round(input.ttlMs));
    const baseKey = entryKey(input.prefix, input.reqHash);
    if (input.vary.length === 0) {
      await this.redis.set(baseKey, record, 'PX', px);
      return;
    }
    // The index outlives a single variant so sibling variants stay reachable; both keys share the
    // connector's hash tag, so the transaction is valid on Cluster.
    const key = variantKey(input.prefix, input.reqHash, input.vary, input.requestHeaders);
    await this.redis
      .multi()
      .set(baseKey, encodeIndex(input.gen, input.vary), 'PX', Math.min(MAX_STORE_TTL_MS, px + this.graceMs))
      .set(key, record, 'PX', px)
      .exec();
  }

  async markPass(prefix: string, flight: string, ttlMs: number): Promise<void> {
    await this.redis.set(passKey(prefix, flight), '1', 'PX', ttlMs);
  }

  async clearPass(prefix: string, flight: string): Promise<void> {
    await this.redis.del(passKey(prefix, flight));
  }

  /** Makes every existing entry of one connector unusable at once (see purge); returns the new generation. */
  async invalidate(prefix: string): Promise<number> {
    return this.redis.incr(generationKey(prefix));
  }

  /**
   * Removes one connector's entries. The generation bump makes every existing entry unusable at
   * once (also on other processes, and for stores already in flight); the SCAN then frees the memory.
   */
  async purge(prefix: string): Promise<PurgeResult> {
    const generation = await this.invalidate(prefix);
    const pattern = connectorPattern(prefix);
    const keep = generationKey(prefix);
    const nodes = this.redis instanceof Cluster ? this.redis.nodes('master') : [this.redis];
    let removed = 0;
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
        cursor = next;
        const doomed = keys.filter((k) => k !== keep);
        if (doomed.length > 0) removed += await node.unlink(...doomed);
      } while (cursor !== '0');
    }
    return { generation, removed };
  }
}
