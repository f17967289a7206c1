import { performance } from 'node:perf_hooks';
import CachePolicy from 'http-cache-semantics';
import type { Registry } from 'prom-client';
import type { Logger } from '../../logger.js';
import type { RedisClient } from '../../redis/connection.js';
import { connectorPrefix, exactRequestHash, lockKey, requestHash, type CacheKeys, type CacheRequest, type CacheScope } from './key.js';
import { MemoryTier } from './memory.js';
import { CacheMetrics } from './metrics.js';
import {
  CACHEABLE_METHODS,
  evaluateStorable,
  hasValidator,
  normalizeHeaders,
  quickSkip,
  sanitizedRequest,
  varyFields,
  type HeaderMap,
  type RawHeaders,
  type SkipReason,
  type StorableVerdict,
} from './policy.js';
import { applyNotModified, conditionalHeaders } from './revalidate.js';
import { InProcessFlights, RedisLock } from './single-flight.js';
import { CacheStore, DEFAULT_REVALIDATION_GRACE_MS, MAX_ENTRY_BODY_BYTES, type LookupResult, type PurgeResult, type StoredEntry } from './store.js';

export type { CacheRequest, CacheScope } from './key.js';
export type { HeaderMap, RawHeaders, SkipReason } from './policy.js';
export type { PurgeResult } from './store.js';

/**
 * The HTTP response cache (docs/design.md#http-cache, RFC 9111), shared by every Gatehouse process through the
 * cache Redis. The runtime pipeline calls `fetch` between the request-body stage and the upstream
 * call; `doFetch` is the real upstream call. The raw upstream response is what is stored; the
 * response template runs on every answer, hit or not, so per-user output stays per user.
 */

export type XCache = 'HIT' | 'MISS' | 'REVALIDATED' | 'BYPASS';

export interface UpstreamAnswer {
  status: number;
  headers: RawHeaders;
  body: Buffer;
}

export interface CachedFetchInput {
  scope: CacheScope;
  /** The fully resolved outgoing request (URL with query, headers with lower-case names, body). */
  request: CacheRequest;
  /**
   * Resolved credential and identity material (auth header/query values, secret-bearing and
   * user-dependent header values, a stable identity for time-varying credentials such as signed
   * JWTs). Only hashed into the key.
   */
  credentials: readonly string[];
  /**
   * Keys computed ahead by `keysFor` (a connector's plan): the prefix of this scope, and — for a
   * request that is the same every time — its hashes, so the lookup hashes nothing.
   */
  keys?: CacheKeys;
  /** Values that must never be written to the cache: secret values, tokens, injected header values. */
  sensitive?: readonly string[];
  /** The upstream call. `conditional` holds If-None-Match / If-Modified-Since when revalidating. */
  doFetch: (conditional: HeaderMap) => Promise<UpstreamAnswer>;
}

export interface CachedFetchResult {
  /** The upstream answer (MISS, BYPASS) or the stored one (HIT, REVALIDATED): status, lower-case headers, raw body. */
  response: UpstreamAnswer;
  xCache: XCache;
  /** Time spent on the cache: lookups, stores, waiting for another caller's upstream request. */
  cacheMs: number;
  /** Time spent in `doFetch` (a revalidation included); 0 when this request made no upstream call. */
  upstreamMs: number;
  /** Why a MISS was not stored. */
  skipped?: SkipReason;
}

export interface ResponseCacheOptions {
  redis: RedisClient;
  metrics: Registry;
  log: Logger;
  /** Upstream timeout: the cross-process lock must outlive one upstream call. */
  upstreamTimeoutMs: number;
  /** Longest a follower in another process waits for the leader's answer (default 5 s). */
  maxWaitMs?: number;
  /** How long a stale entry with a validator stays for revalidation (default 1 h). */
  revalidationGraceMs?: number;
  /** How long "this request's answer was not storable" disables coalescing (default 5 s). */
  passTtlMs?: number;
  /** Longest a process serves a fresh entry from memory without reading Redis (default 1 s; 0 = off). */
  memoryTtlMs?: number;
  /** Memory tier size bound, in body bytes (default 32 MiB). */
  memoryMaxBytes?: number;
}

/** Bound on remembered passes (distinct uncacheable requests within one second). */
const MAX_LOCAL_PASSES = 10_000;

/** Shorter values occur in ordinary bodies by chance; scanning for them would refuse to cache at random. */
const MIN_SENSITIVE_LENGTH = 6;

/** The conditional headers of a plain (not revalidating) upstream request: none. Shared, never written to. */
const NO_CONDITIONAL: HeaderMap = Object.freeze({}) as HeaderMap;

/** A request this process remembers as a pass: no lookup was made, so no entry, generation or key. */
const REMEMBERED_PASS: LookupResult = Object.freeze({ gen: undefined, entry: undefined, key: undefined, pass: true });

/** One cache-consulting request. */
class Call {
  private hash: string | undefined;

  constructor(
    readonly input: CachedFetchInput,
    readonly method: string,
    readonly headers: HeaderMap,
    readonly prefix: string,
    /** The exact-request hash (memory tier, single flight, pass markers). */
    readonly flight: string,
    /** Local purge count of the connector when the call began: a purge since then forbids remembering. */
    readonly purges: number,
  ) {}

  /**
   * The entry's request hash, computed on first use: a request answered from memory, or sent
   * upstream on a remembered pass with an unstorable answer, never needs it (one hash, not two).
   */
  get reqHash(): string {
    return (this.hash ??= this.input.keys?.request ?? requestHash(this.input.scope, this.input.request, this.input.credentials));
  }
}

interface Outcome {
  result: CachedFetchResult;
  /** What a coalesced follower may be given: only answers that are (or were just) in the cache. */
  shared: UpstreamAnswer | undefined;
}

export class ResponseCache {
  readonly metrics: CacheMetrics;
  private readonly store: CacheStore;
  private readonly lock: RedisLock;
  private readonly flights = new InProcessFlights<Outcome>();
  private readonly lookups = new InProcessFlights<LookupResult>();
  private readonly redis: RedisClient;
  private readonly log: Logger;
  private readonly passTtlMs: number;
  private readonly memory: MemoryTier;
  private readonly localPurges = new Map<string, number>();
  /** flight → until: answers of these exact requests were just found unstorable (see rememberPass). */
  private readonly localPass = new Map<string, { prefix: string; until: number }>();

  constructor(options: ResponseCacheOptions) {
    this.redis = options.redis;
    this.log = options.log;
    this.metrics = new CacheMetrics(options.metrics);
    this.store = new CacheStore(options.redis, options.revalidationGraceMs ?? DEFAULT_REVALIDATION_GRACE_MS);
    this.lock = new RedisLock(options.redis, {
      ttlMs: options.upstreamTimeoutMs + 2000,
      maxWaitMs: options.maxWaitMs ?? Math.min(5000, options.upstreamTimeoutMs + 1000),
    });
    this.passTtlMs = options.passTtlMs ?? 5000;
    this.memory = new MemoryTier(options.memoryTtlMs ?? 1000, options.memoryMaxBytes ?? 32 * 1024 * 1024);
  }

  /** Counts an execution the runtime sent past the cache (other methods, Test Connection, composite steps). */
  noteBypass(): void {
    this.metrics.bypass.inc();
  }

  /**
   * The keys `fetch` computes for a scope and, when given, one request: a caller that sends the
   * same request every time computes them once and passes them back as `keys`.
   */
  keysFor(scope: CacheScope, request?: CacheRequest, credentials: readonly string[] = []): CacheKeys {
    const prefix = connectorPrefix(scope.tenant, scope.permalink);
    if (request === undefined) return { prefix };
    return { prefix, exact: exactRequestHash(scope, request, credentials, lowerCaseKeys(request.headers)), request: requestHash(scope, request, credentials) };
  }

  /** Runs `doFetch` without the cache: counted as BYPASS. */
  async bypass(doFetch: () => Promise<UpstreamAnswer>): Promise<CachedFetchResult> {
    this.noteBypass();
    const t0 = performance.now();
    const response = await doFetch();
    return { response, xCache: 'BYPASS', cacheMs: 0, upstreamMs: performance.now() - t0 };
  }

  async fetch(input: CachedFetchInput): Promise<CachedFetchResult> {
    return this.fetchOrKept(input);
  }

  /**
   * `fetch`, except that an answer from the memory tier comes without a promise (the request path
   * of a hit then takes none at all). Throws only what `fetch` would reject with.
   */
  fetchOrKept(input: CachedFetchInput): CachedFetchResult | Promise<CachedFetchResult> {
    const m = input.request.method;
    const method = m === 'GET' || m === 'HEAD' ? m : m.toUpperCase();
    // An unreachable cache Redis must not add latency: ioredis would queue commands until reconnect.
    if (!CACHEABLE_METHODS.has(method) || this.redis.status !== 'ready') return this.bypass(() => input.doFetch({}));

    const start = performance.now();
    const keys = input.keys;
    const headers = lowerCaseKeys(input.request.headers);
    const exact = keys?.exact ?? exactRequestHash(input.scope, input.request, input.credentials, headers);
    if (this.memory.enabled) {
      const kept = this.fromMemory(exact, start);
      if (kept !== undefined) return kept;
    }
    // This process saw this exact request's answer be unstorable moments ago: like the Redis pass
    // marker, but without the lookup round trip (a no-store upstream then costs no Redis traffic).
    if (this.recentPass(exact)) return this.passThrough(this.call(input, method, headers, exact), start);
    return this.fetchShared(this.call(input, method, headers, exact), start);
  }

  private call(input: CachedFetchInput, method: string, headers: HeaderMap, exact: string): Call {
    const prefix = input.keys?.prefix ?? connectorPrefix(input.scope.tenant, input.scope.permalink);
    return new Call(input, method, headers, prefix, exact, this.localPurges.get(prefix) ?? 0);
  }

  /**
   * A remembered pass: straight to the upstream, with one continuation for the answer — an
   * unstorable one (the usual case: the answer that made the pass) is settled without another promise.
   */
  private passThrough(call: Call, start: number): Promise<CachedFetchResult> {
    const t0 = performance.now();
    return call.input.doFetch(NO_CONDITIONAL).then((answer) => {
      const outcome = this.answered(call, REMEMBERED_PASS, answer, performance.now() - t0);
      return outcome instanceof Promise ? outcome.then((o) => this.finish(start, o)) : this.finish(start, outcome);
    });
  }

  /** `fetch` past the memory tier: Redis, single flight, the upstream. */
  private async fetchShared(call: Call, start: number): Promise<CachedFetchResult> {
    const { input, headers, flight: exact } = call;
    let found: LookupResult;
    try {
      // One lookup per exact request at a time: when a memory entry expires under load, the first
      // request re-reads Redis and the others wait for it (no stampede of identical MGETs).
      const lookup = this.lookups.run(exact, () => this.store.lookup(call.prefix, call.reqHash, headers, call.flight));
      found = await lookup.promise;
      if (!lookup.leader && this.memory.enabled) {
        // The leader, resumed first, has put a fresh answer back into memory.
        const kept = this.fromMemory(exact, start);
        if (kept !== undefined) return kept;
      }
    } catch (err) {
      this.failed('lookup', err);
      return this.bypass(() => input.doFetch({}));
    }
    const hit = this.freshAnswer(call, found.entry);
    if (hit !== undefined) {
      this.metrics.hits.inc();
      return { response: hit, xCache: 'HIT', cacheMs: performance.now() - start, upstreamMs: 0 };
    }

    if (found.pass) return this.finish(start, await this.callUpstream(call, found));

    const flight = this.flights.run(call.flight, () => this.lead(call, found));
    if (flight.leader) return this.finish(start, await flight.promise);

    const outcome = await flight.promise.catch(() => undefined);
    if (outcome?.shared !== undefined) {
      this.metrics.coalesced.inc();
      this.metrics.hits.inc();
      const shared = outcome.shared;
      return { response: { status: shared.status, headers: { ...shared.headers }, body: shared.body }, xCache: 'HIT', cacheMs: performance.now() - start, upstreamMs: 0 };
    }
    // The leader's answer was not storable (or it failed): this request is not entitled to it.
    return this.finish(start, await this.callUpstream(call, found));
  }

  /**
   * Removes every cached response of one connector (all revisions), on every process at once.
   * `free: false` only makes the entries unusable (the generation bump) and leaves their memory to
   * their TTL: no keyspace SCAN, for removing many connectors at once (tenant deletion).
   */
  async purge(tenant: string, permalink: string, options: { free?: boolean } = {}): Promise<PurgeResult> {
    const prefix = connectorPrefix(tenant, permalink);
    // Calls already running for this connector must not put what they read or store back into memory.
    this.localPurges.set(prefix, (this.localPurges.get(prefix) ?? 0) + 1);
    this.memory.dropPrefix(prefix);
    for (const [flight, pass] of this.localPass) if (pass.prefix === prefix) this.localPass.delete(flight);
    if (options.free === false) return { generation: await this.store.invalidate(prefix), removed: 0 };
    return this.store.purge(prefix);
  }

  /** A fresh answer this process holds for this exact request, as a HIT. */
  private fromMemory(exact: string, start: number): CachedFetchResult | undefined {
    const now = Date.now();
    const kept = this.memory.get(exact, now);
    if (kept === undefined) return undefined;
    this.metrics.hits.inc();
    this.metrics.memoryHits.inc();
    // A copy per answer (callers own their headers); `age` already has its slot in the kept
    // object, so this is a plain clone and one store, not a reshaping of the object.
    const headers = { ...kept.headers };
    headers.age = String(Math.round(kept.age + (now - kept.at) / 1000));
    const answered: UpstreamAnswer = { status: kept.status, headers, body: kept.body };
    return { response: answered, xCache: 'HIT', cacheMs: performance.now() - start, upstreamMs: 0 };
  }

  /** True while this process remembers that the answer to this exact request was not storable. */
  private recentPass(flight: string): boolean {
    if (this.localPass.size === 0) return false;
    const pass = this.localPass.get(flight);
    if (pass === undefined) return false;
    if (pass.until > Date.now()) return true;
    this.localPass.delete(flight);
    return false;
  }

  /**
   * Remembered for the memory tier's lifetime (1 s), never longer than the shared pass marker: an
   * upstream that becomes cacheable is noticed by this process within that second (the answer in
   * between is a MISS, which is always correct), and every other process is unaffected.
   */
  private rememberPass(call: Call): void {
    if (!this.memory.enabled || (this.localPurges.get(call.prefix) ?? 0) !== call.purges) return;
    const until = Date.now() + Math.min(this.memory.ttlMs, this.passTtlMs);
    // The usual case, a pass remembered again: its entry is extended, not replaced.
    const held = this.localPass.get(call.flight);
    if (held !== undefined && held.prefix === call.prefix) {
      held.until = until;
      return;
    }
    if (this.localPass.size >= MAX_LOCAL_PASSES) this.localPass.clear();
    this.localPass.set(call.flight, { prefix: call.prefix, until });
  }

  /** The caller's result, its cache time set (each outcome's result belongs to the one call that made it). */
  private finish(start: number, outcome: Outcome): CachedFetchResult {
    const r = outcome.result;
    r.cacheMs = Math.max(0, performance.now() - start - r.upstreamMs);
    return r;
  }

  /** The stored answer when it may be served without contacting the upstream. */
  private freshAnswer(call: Call, entry: StoredEntry | undefined): UpstreamAnswer | undefined {
    if (entry === undefined) return undefined;
    const policy = CachePolicy.fromObject(entry.policy);
    if (!policy.satisfiesWithoutRevalidation(this.sanitized(call, entry))) return undefined;
    const answered = answerFromEntry(entry, policy);
    this.remember(call, policy, answered);
    return answered;
  }

  /** Keeps a fresh answer in the memory tier for this exact request (never longer than its freshness). */
  private remember(call: Call, policy: CachePolicy, answered: UpstreamAnswer): void {
    if (!this.memory.enabled || (this.localPurges.get(call.prefix) ?? 0) !== call.purges) return;
    const age = policy.age();
    const freshMs = (policy.maxAge() - age) * 1000;
    const headers = { ...(answered.headers as HeaderMap) };
    this.memory.set(call.flight, { prefix: call.prefix, status: answered.status, headers, body: answered.body, age }, Date.now(), freshMs);
  }

  private sanitized(call: Call, entry: StoredEntry): CachePolicy.Request {
    const vary = varyFields(headerValue(entry.policy.resh.vary));
    return sanitizedRequest(call.method, call.reqHash, call.headers, vary);
  }

  /** The in-process leader: takes the cross-process lock, or waits for the process that holds it. */
  private async lead(call: Call, found: LookupResult): Promise<Outcome> {
    const key = lockKey(call.prefix, call.flight);
    let token: string | undefined;
    try {
      token = await this.lock.acquire(key);
      if (token === undefined) {
        await this.lock.waitForRelease(key);
        const again = await this.store.lookup(call.prefix, call.reqHash, call.headers, call.flight);
        const hit = this.freshAnswer(call, again.entry);
        if (hit !== undefined) {
          this.metrics.hits.inc();
          return { result: { response: hit, xCache: 'HIT', cacheMs: 0, upstreamMs: 0 }, shared: hit };
        }
        found = again;
      }
    } catch (err) {
      this.failed('lock', err);
    }
    try {
      return await this.callUpstream(call, found);
    } finally {
      if (token !== undefined) await this.lock.release(key, token).catch((err: unknown) => this.failed('unlock', err));
    }
  }

  /** One upstream request: a revalidation when a stale entry has a validator, else a plain fetch. */
  private async callUpstream(call: Call, found: LookupResult): Promise<Outcome> {
    const stale = found.entry;
    const stalePolicy = stale === undefined ? undefined : CachePolicy.fromObject(stale.policy);
    const staleHeaders = stale === undefined ? undefined : entryHeaders(stale);
    const sanitized = stale === undefined ? undefined : this.sanitized(call, stale);
    const conditional =
      stalePolicy !== undefined && staleHeaders !== undefined && sanitized !== undefined && hasValidator(staleHeaders)
        ? conditionalHeaders(stalePolicy, sanitized)
        : {};

    const t0 = performance.now();
    const answer = await call.input.doFetch(stale === undefined ? NO_CONDITIONAL : conditional);
    const upstreamMs = performance.now() - t0;

    if (answer.status === 304 && stale !== undefined && Object.keys(conditional).length > 0) {
      const revalidated = await this.revalidated(call, found, stale, stalePolicy!, sanitized!, staleHeaders!, answer, upstreamMs);
      if (revalidated !== undefined) return revalidated;
    }
    return this.answered(call, found, answer, upstreamMs);
  }

  /**
   * An upstream answer (other than a 304 to our revalidation): stored when it may be kept. One that
   * may not is settled without a promise, and one that is certainly unstorable (a no-store upstream,
   * an error status) is known so from its headers as received (quickSkip), without a normalised
   * copy or a policy.
   */
  private answered(call: Call, found: LookupResult, answer: UpstreamAnswer, upstreamMs: number): Outcome | Promise<Outcome> {
    const quick = quickSkip(call.headers, answer.status, answer.headers);
    if (quick !== undefined) return this.notStored(call, found, answer, upstreamMs, quick);
    const headers = normalizeHeaders(answer.headers);
    const verdict = evaluateStorable(call.method, () => call.reqHash, call.headers, answer.status, headers);
    if (!verdict.storable) return this.notStored(call, found, answer, upstreamMs, verdict.reason);
    if (answer.body.length > MAX_ENTRY_BODY_BYTES) return this.notStored(call, found, answer, upstreamMs, 'too-large');
    if (echoesSensitive(answer.body, verdict.headers, call.input.sensitive)) return this.notStored(call, found, answer, upstreamMs, 'echoes-credential');
    return this.stored(call, found, answer, upstreamMs, verdict, headers['cache-control']);
  }

  private notStored(call: Call, found: LookupResult, answer: UpstreamAnswer, upstreamMs: number, skipped: SkipReason): Outcome {
    this.metrics.skip(skipped);
    // A stale entry the upstream no longer lets us keep must not be revalidated again.
    if (found.entry !== undefined && found.key !== undefined) void this.redis.del(found.key).catch((err: unknown) => this.failed('delete', err));
    if (!found.pass) void this.store.markPass(call.prefix, call.flight, this.passTtlMs).catch((err: unknown) => this.failed('pass', err));
    this.rememberPass(call);
    this.metrics.misses.inc();
    return { result: { response: answer, xCache: 'MISS', cacheMs: 0, upstreamMs, skipped }, shared: undefined };
  }

  private async stored(
    call: Call,
    found: LookupResult,
    answer: UpstreamAnswer,
    upstreamMs: number,
    verdict: Extract<StorableVerdict, { storable: true }>,
    cacheControl: string | undefined,
  ): Promise<Outcome> {
    let shared: UpstreamAnswer | undefined;
    const policy = verdict.policy.toObject();
    const stored = await this.write(call, found, verdict.vary, policy, cacheControl, answer.body, this.store.storeTtl(verdict.ttlMs, verdict.validator));
    this.localPass.delete(call.flight);
    if (stored) {
      shared = { status: answer.status, headers: { ...verdict.headers, age: '0' }, body: answer.body };
      if (verdict.policy.satisfiesWithoutRevalidation(sanitizedRequest(call.method, call.reqHash, call.headers, verdict.vary))) {
        this.remember(call, verdict.policy, shared);
      }
      if (found.pass) void this.store.clearPass(call.prefix, call.flight).catch((err: unknown) => this.failed('pass', err));
    }
    this.metrics.misses.inc();
    return { result: { response: answer, xCache: 'MISS', cacheMs: 0, upstreamMs }, shared };
  }

  private async revalidated(
    call: Call,
    found: LookupResult,
    stale: StoredEntry,
    stalePolicy: CachePolicy,
    sanitized: CachePolicy.Request,
    staleHeaders: HeaderMap,
    answer: UpstreamAnswer,
    upstreamMs: number,
  ): Promise<Outcome | undefined> {
    const status = stale.policy.st;
    const outcome = applyNotModified(stalePolicy, sanitized, status, staleHeaders, normalizeHeaders(answer.headers), call.method, call.reqHash, call.headers);
    if (!outcome.validated) return undefined;
    this.metrics.revalidated.inc();
    const served: UpstreamAnswer = { status, headers: { ...outcome.headers, age: '0' }, body: stale.body };
    const verdict = outcome.verdict;
    if (!outcome.matches) {
      // A 304 for another validator: serve what we hold (RFC 9111 §4.3.4), but do not update it.
    } else if (verdict.storable) {
      // Awaited so that the next request, on any process, sees the new freshness.
      const ttl = this.store.storeTtl(verdict.ttlMs, verdict.validator);
      if (await this.write(call, found, verdict.vary, verdict.policy.toObject(), outcome.headers['cache-control'], stale.body, ttl)) {
        if (verdict.policy.satisfiesWithoutRevalidation(sanitizedRequest(call.method, call.reqHash, call.headers, verdict.vary))) {
          this.remember(call, verdict.policy, served);
        }
      }
    } else {
      this.metrics.skip(verdict.reason);
      if (found.key !== undefined) void this.redis.del(found.key).catch((err: unknown) => this.failed('delete', err));
    }
    return { result: { response: served, xCache: 'REVALIDATED', cacheMs: 0, upstreamMs }, shared: served };
  }

  private async write(
    call: Call,
    found: LookupResult,
    vary: readonly string[],
    policy: CachePolicy.CachePolicyObject,
    cacheControl: string | undefined,
    body: Buffer,
    ttlMs: number,
  ): Promise<boolean> {
    const normalised = headerValue(policy.resh['cache-control']);
    try {
      // Without a lookup (a remembered pass) the purge generation is read now: a purge before this
      // read makes the entry current, one after it makes it unusable — as for any other store.
      const gen = found.gen ?? (await this.store.generation(call.prefix));
      await this.store.write({
        prefix: call.prefix,
        reqHash: call.reqHash,
        gen,
        vary,
        requestHeaders: call.headers,
        policy,
        cacheControl: cacheControl !== normalised ? cacheControl : undefined,
        body,
        ttlMs,
      });
      this.metrics.stores.inc();
      return true;
    } catch (err) {
      this.failed('store', err);
      return false;
    }
  }

  private failed(op: string, err: unknown): void {
    this.metrics.errors.inc({ op });
    this.log.warn({ err: { message: (err as Error).message }, op }, 'response cache operation failed');
  }
}

function lowerCaseKeys(headers: Readonly<Record<string, string>>): HeaderMap {
  let lower = true;
  for (const name in headers) {
    if (name !== name.toLowerCase()) {
      lower = false;
      break;
    }
  }
  if (lower) return headers as HeaderMap;
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) out[name.toLowerCase()] = value;
  return out;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value.join(', ') : value;
}

/** The stored response headers as the upstream sent them (the policy may hold a normalised Cache-Control). */
function entryHeaders(entry: StoredEntry): HeaderMap {
  const headers: HeaderMap = {};
  for (const [name, value] of Object.entries(entry.policy.resh)) {
    const v = headerValue(value);
    if (v !== undefined) headers[name] = v;
  }
  if (entry.cacheControl !== undefined) headers['cache-control'] = entry.cacheControl;
  return headers;
}

function answerFromEntry(entry: StoredEntry, policy: CachePolicy): UpstreamAnswer {
  const headers = entryHeaders(entry);
  headers.age = String(Math.max(0, Math.round(policy.age())));
  return { status: entry.policy.st, headers, body: entry.body };
}

/** True when a value that must stay secret appears in what would be stored (an upstream echoing it). */
function echoesSensitive(body: Buffer, headers: HeaderMap, sensitive: readonly string[] | undefined): boolean {
  if (sensitive === undefined || sensitive.length === 0) return false;
  const headerText = Object.values(headers).join('\n');
  for (const value of sensitive) {
    if (value.length < MIN_SENSITIVE_LENGTH) continue;
    const forms = new Set([value, encodeURIComponent(value)]);
    for (const form of forms) {
      if (body.includes(form) || headerText.includes(form)) return true;
    }
  }
  return false;
}

