import CachePolicy from 'http-cache-semantics';
import { sha256Hex } from './key.js';

/**
 * What may be stored, and how fresh it is (docs/design.md#http-cache, RFC 9111), on top of http-cache-semantics.
 *
 * The library sees a *sanitized* request only: the method, an opaque URL (the hash of the resolved
 * request, never the URL itself: its query may carry an API key), the request's own Cache-Control /
 * Pragma, and the headers the response names in `Vary` with their values hashed. Injected
 * credentials never reach it, so nothing the policy serialises (`toObject`) can hold a secret.
 * Leaving `Authorization` out is deliberate: RFC 9111 §3.5 forbids a shared cache to reuse a response
 * to an authenticated request because the next requester may hold other credentials; our key
 * includes a hash of the credential material, so an entry is only ever reused by a request carrying
 * the same credentials.
 */

export const POLICY_OPTIONS = { shared: true, cacheHeuristic: 0, immutableMinTimeToLive: 0 } as const;

export const CACHEABLE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD']);
export const CACHEABLE_STATUSES: ReadonlySet<number> = new Set([200, 301, 308]);

export type SkipReason =
  | 'status'
  | 'no-store'
  | 'no-cache'
  | 'private'
  | 'set-cookie'
  | 'vary-star'
  | 'no-freshness'
  | 'too-large'
  | 'echoes-credential'
  | 'request-no-store'
  | 'not-storable';

export const SKIP_REASONS: readonly SkipReason[] = [
  'status', 'no-store', 'no-cache', 'private', 'set-cookie', 'vary-star', 'no-freshness', 'too-large',
  'echoes-credential', 'request-no-store', 'not-storable',
];

export type HeaderMap = Record<string, string>;
export type RawHeaders = Record<string, string | string[] | undefined>;

/**
 * Never stored, whatever the upstream sends: hop-by-hop fields (RFC 9110 §7.6.1, RFC 9111 §3.1) and
 * fields that carry or set credentials.
 */
const UNSTORED_HEADERS = new Set([
  'connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authorization', 'authorization', 'cookie', 'set-cookie', 'set-cookie2',
]);

/** Lower-cases names and joins repeated fields with ", " (RFC 9110 §5.3). */
export function normalizeHeaders(raw: RawHeaders): HeaderMap {
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    const text = Array.isArray(value) ? value.join(', ') : String(value);
    out[key] = out[key] === undefined ? text : `${out[key]}, ${text}`;
  }
  return out;
}

/** The response header fields written to the cache: everything but hop-by-hop and credential fields. */
export function storableHeaders(headers: HeaderMap): HeaderMap {
  const connectionTokens = new Set((headers.connection ?? '').toLowerCase().split(',').map((t) => t.trim()).filter((t) => t !== ''));
  const out: HeaderMap = {};
  for (const [name, value] of Object.entries(headers)) {
    if (UNSTORED_HEADERS.has(name) || connectionTokens.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Cache-Control directives, names lower-cased; a quoted argument may contain commas. */
export function parseCacheControl(value: string | undefined): Map<string, string | true> {
  const out = new Map<string, string | true>();
  if (value === undefined) return out;
  let i = 0;
  while (i < value.length) {
    let j = i;
    while (j < value.length && value[j] !== ',' && value[j] !== '=') j++;
    const name = value.slice(i, j).trim().toLowerCase();
    let arg: string | true = true;
    if (value[j] === '=') {
      j++;
      while (value[j] === ' ' || value[j] === '\t') j++;
      if (value[j] === '"') {
        let text = '';
        j++;
        while (j < value.length && value[j] !== '"') {
          if (value[j] === '\\' && j + 1 < value.length) j++;
          text += value[j];
          j++;
        }
        arg = text;
        while (j < value.length && value[j] !== ',') j++;
      } else {
        const start = j;
        while (j < value.length && value[j] !== ',') j++;
        arg = value.slice(start, j).trim();
      }
    }
    if (name !== '' && !out.has(name)) out.set(name, arg);
    i = j + 1;
  }
  return out;
}

/** Field names listed by `Vary`, lower-cased, sorted, de-duplicated; `['*']` when it contains `*`. */
export function varyFields(vary: string | undefined): string[] {
  if (vary === undefined) return [];
  const names = new Set(vary.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''));
  if (names.has('*')) return ['*'];
  return [...names].sort();
}

/**
 * The request as the policy sees it. `requestId` is a hash identifying the resolved request
 * (method, URL, credentials); the `Vary`-named header values are hashed too, so the serialised
 * policy holds no header value in clear.
 */
export function sanitizedRequest(method: string, requestId: string, requestHeaders: HeaderMap, vary: readonly string[]): CachePolicy.Request {
  const headers: HeaderMap = {};
  const cc = requestHeaders['cache-control'];
  if (cc !== undefined) headers['cache-control'] = cc;
  const pragma = requestHeaders.pragma;
  if (pragma !== undefined) headers.pragma = pragma;
  for (const name of vary) {
    // `authorization` is covered by the key's credential hash; giving it to the library would make
    // it apply the "authenticated request" rule that the key already answers.
    if (name === '*' || name === 'authorization' || name === 'cache-control' || name === 'pragma') continue;
    const value = requestHeaders[name];
    if (value !== undefined) headers[name] = sha256Hex(value);
  }
  return { method, url: `/${requestId}`, headers };
}

/**
 * The response headers the policy is built from. `must-revalidate` and `proxy-revalidate` are taken
 * out because http-cache-semantics treats them as "always revalidate, even while fresh" (and
 * `proxy-revalidate` as "never fresh"), while RFC 9111 §5.2.2.2/§5.2.2.8 only forbid serving them
 * *stale* without revalidation — which this cache never does anyway (no max-stale,
 * stale-while-revalidate or stale-if-error serving). The stored headers keep the original value.
 */
export function policyResponseHeaders(headers: HeaderMap): HeaderMap {
  const cc = headers['cache-control'];
  if (cc === undefined || !/(must|proxy)-revalidate/i.test(cc)) return headers;
  const kept = cc
    .split(',')
    .map((d) => d.trim())
    .filter((d) => d !== '' && !/^(must|proxy)-revalidate$/i.test(d));
  const out = { ...headers };
  if (kept.length === 0) delete out['cache-control'];
  else out['cache-control'] = kept.join(', ');
  return out;
}

export function hasValidator(headers: HeaderMap): boolean {
  return headers.etag !== undefined || headers['last-modified'] !== undefined;
}

/**
 * The reason `evaluateStorable` gives for an answer that is certainly not stored, decided from the
 * upstream's headers as received — no normalised copy, no policy object, no request hash: a status
 * other than 200/301/308, or a response Cache-Control with `no-store`, `no-cache` or `private`.
 * Undefined when only the full evaluation can tell: when the request has a Cache-Control of its own,
 * and when the response spells Cache-Control in more than one way (normalizeHeaders would join
 * them), so that it never answers other than evaluateStorable would.
 */
export function quickSkip(requestHeaders: HeaderMap, status: number, responseHeaders: RawHeaders): SkipReason | undefined {
  if (!CACHEABLE_STATUSES.has(status)) return 'status';
  if (requestHeaders['cache-control'] !== undefined) return undefined;
  const value = responseHeaders['cache-control'];
  if (typeof value !== 'string') return undefined;
  for (const name in responseHeaders) {
    if (name.length === 13 && name !== 'cache-control' && name.toLowerCase() === 'cache-control') return undefined;
  }
  let verdict = cacheControlVerdicts.get(value);
  if (verdict === undefined) {
    const cc = parseCacheControl(value);
    verdict = cc.has('no-store') ? 'no-store' : cc.has('no-cache') ? 'no-cache' : cc.has('private') ? 'private' : null;
    if (cacheControlVerdicts.size >= MAX_CACHE_CONTROL_VERDICTS) cacheControlVerdicts.clear();
    cacheControlVerdicts.set(value, verdict);
  }
  return verdict ?? undefined;
}

/**
 * quickSkip's verdict per response Cache-Control text (null: none of the three): an upstream sends
 * the same few texts again and again, and a lookup costs less than parsing one into a map.
 */
const cacheControlVerdicts = new Map<string, 'no-store' | 'no-cache' | 'private' | null>();
const MAX_CACHE_CONTROL_VERDICTS = 256;

export type StorableVerdict =
  | { storable: true; policy: CachePolicy; vary: string[]; headers: HeaderMap; ttlMs: number; validator: boolean }
  | { storable: false; reason: SkipReason };

/**
 * docs/design.md#http-cache: only 200/301/308 to GET/HEAD; never `no-store`, `no-cache`, `private` or `Set-Cookie`;
 * stored only with explicit freshness (max-age, s-maxage, Expires) or a validator (ETag,
 * Last-Modified). No heuristic freshness: a response with neither is not stored.
 */
export function evaluateStorable(
  method: string,
  /** The request hash, or a function giving it: only needed once the answer may be stored. */
  requestId: string | (() => string),
  requestHeaders: HeaderMap,
  status: number,
  responseHeaders: HeaderMap,
): StorableVerdict {
  if (!CACHEABLE_STATUSES.has(status)) return { storable: false, reason: 'status' };
  const reqcc = parseCacheControl(requestHeaders['cache-control']);
  if (reqcc.has('no-store')) return { storable: false, reason: 'request-no-store' };
  const cc = parseCacheControl(responseHeaders['cache-control']);
  if (cc.has('no-store')) return { storable: false, reason: 'no-store' };
  if (cc.has('no-cache') || (responseHeaders['cache-control'] === undefined && /no-cache/i.test(responseHeaders.pragma ?? ''))) {
    return { storable: false, reason: 'no-cache' };
  }
  if (cc.has('private')) return { storable: false, reason: 'private' };
  if (responseHeaders['set-cookie'] !== undefined || responseHeaders['set-cookie2'] !== undefined) {
    return { storable: false, reason: 'set-cookie' };
  }
  const vary = varyFields(responseHeaders.vary);
  if (vary[0] === '*') return { storable: false, reason: 'vary-star' };

  const headers = storableHeaders(responseHeaders);
  const policy = new CachePolicy(
    sanitizedRequest(method, typeof requestId === 'string' ? requestId : requestId(), requestHeaders, vary),
    { status, headers: policyResponseHeaders(headers) },
    POLICY_OPTIONS,
  );
  if (!policy.storable()) return { storable: false, reason: 'not-storable' };
  const validator = hasValidator(headers);
  const ttlMs = policy.timeToLive();
  if (ttlMs <= 0 && !validator) return { storable: false, reason: 'no-freshness' };
  return { storable: true, policy, vary, headers, ttlMs, validator };
}
