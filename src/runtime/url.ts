import type { CompiledRequest } from '../registry/compile.js';
import type { UpstreamClient } from '../upstream/client.js';

/** RFC 3986 unreserved stay as they are; everything else in keys and values is percent-encoded (docs/registry.md#parameters-and-headers). */
export function encodeQuery(pairs: readonly (readonly [string, string])[]): string {
  let out = '';
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i]!;
    out += `${i === 0 ? '' : '&'}${encode(k)}=${encode(v)}`;
  }
  return out;
}

/** Exactly what encodeURIComponent leaves alone. */
const UNESCAPED = /^[A-Za-z0-9\-_.!~*'()]*$/;

/** encodeURIComponent, without its call into the runtime for the common values that need no escaping. */
function encode(text: string): string {
  return UNESCAPED.test(text) ? text : encodeURIComponent(text);
}

/** `base` with the query pairs appended (before any fragment). */
export function joinUrl(base: string, pairs: readonly (readonly [string, string])[]): string {
  if (pairs.length === 0) return base;
  const hash = base.indexOf('#');
  const head = hash === -1 ? base : base.slice(0, hash);
  const sep = head.includes('?') ? (head.endsWith('?') || head.endsWith('&') ? '' : '&') : '?';
  return `${head}${sep}${encodeQuery(pairs)}`;
}

/**
 * The parsed upstream URL. Most requests of a connector resolve to the same URL, so each compiled
 * request remembers its last one by its parts (rendered base, query pairs): a repeat costs a few
 * comparisons instead of encoding, joining and parsing (a noticeable share of a cache hit). URLs
 * built with a secret are never remembered: secret values live only as long as their request.
 */
export function upstreamUrl(client: UpstreamClient, spec: CompiledRequest, base: string, query: [string, string][]): URL {
  const memo = spec.lastUrl;
  if (memo !== undefined && memo.client === client && memo.base === base && samePairs(memo.query, query)) return memo.url;
  const url = client.parseUrl(joinUrl(base, query));
  if (!spec.urlUsesSecret) spec.lastUrl = { base, query: query.map(([k, v]) => [k, v]), url, client };
  return url;
}

function samePairs(a: readonly (readonly [string, string])[], b: readonly (readonly [string, string])[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  }
  return true;
}
