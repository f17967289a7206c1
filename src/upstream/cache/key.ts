import { hash } from 'node:crypto';

/**
 * Cache keys (docs/design.md#http-cache). Every key of one connector shares the hash tag `{gc:<tenant>/<permalink>}`
 * so that, on Redis Cluster, a connector's entries, its generation counter and its locks live in one
 * slot (multi-key reads and transactions work) and a purge can find them with one SCAN pattern.
 *
 *   gh:cache:{gc:T/P}:gen               generation counter; bumped by a purge (see store.ts)
 *   gh:cache:{gc:T/P}:e:<request hash>  the entry, or — when the response named `Vary` — a variant index
 *   gh:cache:{gc:T/P}:v:<variant hash>  one entry per value combination of the `Vary`-named headers
 *   gh:cache:{gc:T/P}:l:<flight hash>   single-flight lock
 *   gh:cache:{gc:T/P}:p:<flight hash>   "pass" marker: the last answer was not storable
 *
 * The request hash covers connector revision, method, fully resolved URL (query included), request
 * body and the credential material; nothing but tenant and permalink appears in clear.
 */

export const KEY_PREFIX = 'gh:cache:';

export interface CacheScope {
  tenant: string;
  permalink: string;
  /** Changes with every definition change: a connector update makes old entries unreachable. */
  revision: string;
}

export interface CacheRequest {
  method: string;
  /** Fully resolved upstream URL, query string included. */
  url: string;
  /** Outgoing request headers, lower-case names. */
  headers: Readonly<Record<string, string>>;
  body?: Buffer | string | undefined;
}

/**
 * Keys computed ahead of a request (`ResponseCache.keysFor`): the connector's key prefix, and for a
 * request that is the same every time its two hashes, so its lookups hash nothing.
 */
export interface CacheKeys {
  prefix: string;
  /** `exactRequestHash` of the request (memory tier, single flight, pass markers). */
  exact?: string;
  /** `requestHash` of the request (the stored entry). */
  request?: string;
}

export function sha256Hex(value: string | Buffer): string {
  // One-shot `crypto.hash` (Node ≥ 20.12): about twice as fast as createHash for short inputs.
  return hash('sha256', value, 'hex');
}

/**
 * One JSON array per hash: unambiguous (no two different part lists serialise alike) and a single
 * native call, which matters on the hit path. A Buffer goes in as `{b64}`, so it never equals a string.
 */
function hashParts(parts: readonly (string | Buffer)[]): string {
  const text = JSON.stringify(parts.map((p) => (typeof p === 'string' ? p : { b64: p.toString('base64') })));
  return sha256Hex(text);
}

/** Tenant ids and permalinks are not secret, but `{`, `}` and glob characters must not leak into keys. */
function tagPart(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

const prefixes = new Map<string, string>();

export function connectorPrefix(tenant: string, permalink: string): string {
  // Needed on every lookup; the escaping (two encodes, two replaces) is done once per connector.
  const id = `${tenant}\n${permalink}`;
  let prefix = prefixes.get(id);
  if (prefix === undefined) {
    prefix = `${KEY_PREFIX}{gc:${tagPart(tenant)}/${tagPart(permalink)}}:`;
    if (prefixes.size >= 10_000) prefixes.clear();
    prefixes.set(id, prefix);
  }
  return prefix;
}

export function generationKey(prefix: string): string {
  return `${prefix}gen`;
}

/**
 * Hash of everything that selects a stored response apart from `Vary`: revision, method, URL, body,
 * and the credential material (resolved auth header/query values, secret-bearing headers, any value
 * that identifies the caller). Different credentials or users → different hash → different entry.
 */
export function requestHash(scope: CacheScope, request: CacheRequest, credentials: readonly string[]): string {
  const body = request.body === undefined ? '' : request.body;
  return hashParts([
    'v1',
    scope.revision,
    request.method.toUpperCase(),
    request.url,
    body,
    credentials.length.toString(),
    ...credentials,
  ]);
}

export function entryKey(prefix: string, reqHash: string): string {
  return `${prefix}e:${reqHash}`;
}

/** Second level of the Vary scheme: the values of the named request headers (absent ≠ empty). */
export function variantKey(prefix: string, reqHash: string, vary: readonly string[], headers: Readonly<Record<string, string>>): string {
  const parts: string[] = [reqHash];
  for (const name of vary) {
    const value = headers[name];
    parts.push(name, value === undefined ? '0' : `1${value}`);
  }
  return `${prefix}v:${hashParts(parts)}`;
}

/**
 * Identity of one exact outgoing request: the scope, everything `requestHash` covers, and every
 * header (not only `Vary`-named ones). Only identical requests may share one upstream call, because
 * the response's `Vary` is unknown until it arrives; the per-process memory tier is keyed by it too.
 */
export function exactRequestHash(scope: CacheScope, request: CacheRequest, credentials: readonly string[], headers: Readonly<Record<string, string>>): string {
  const names = Object.keys(headers);
  if (names.length > 1) names.sort();
  // Computed on every cache lookup (the memory tier's key), so written out instead of a JSON array:
  // each part as `<length>:<text>` (a Buffer body as `b<length>:<base64>`) is just as unambiguous.
  const body = request.body;
  const m = request.method;
  let text = `x2${part(scope.tenant)}${part(scope.permalink)}${part(scope.revision)}${part(m === 'GET' || m === 'HEAD' ? m : m.toUpperCase())}${part(request.url)}`;
  text += body === undefined ? '0:' : typeof body === 'string' ? part(body) : `b${part(body.toString('base64'))}`;
  text += part(String(credentials.length));
  for (const c of credentials) text += part(c);
  for (const name of names) text += part(name) + part(headers[name]!);
  // Lone surrogates all encode to U+FFFD in UTF-8: such (rare) input takes the JSON form, which escapes them.
  if (!(text as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    const parts: (string | Buffer)[] = ['x1', scope.tenant, scope.permalink, scope.revision, request.method.toUpperCase(), request.url, request.body ?? '', credentials.length.toString(), ...credentials];
    for (const name of names) parts.push(name, headers[name]!);
    return hashParts(parts);
  }
  return sha256Hex(text);
}

function part(text: string): string {
  return `${text.length}:${text}`;
}

export function lockKey(prefix: string, flight: string): string {
  return `${prefix}l:${flight}`;
}

export function passKey(prefix: string, flight: string): string {
  return `${prefix}p:${flight}`;
}

/** SCAN pattern matching every key of one connector (the prefix holds no glob character). */
export function connectorPattern(prefix: string): string {
  return `${prefix.replace(/[\\[\]?*]/g, (c) => `\\${c}`)}*`;
}
