import type { CompiledRequest } from '../registry/compile.js';
import type { UpstreamClient } from '../upstream/client.js';

/** RFC 3986 unreserved stay as they are; everything else in keys and values is percent-encoded (docs/registry.md#parameters-and-headers). */
export function encodeQuery(pairs: readonly (readonly [string, string])[]): string {
  let out = '';
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i]!;
    out += `${i === 0 ? '' : '&'}${encodeComponent(k)}=${encodeComponent(v)}`;
  }
  return out;
}

/** Exactly what encodeURIComponent leaves alone. */
const UNESCAPED = /^[A-Za-z0-9\-_.!~*'()]*$/;

/** encodeURIComponent, without its call into the runtime for the common values that need no escaping. */
export function encodeComponent(text: string): string {
  return UNESCAPED.test(text) ? text : encodeURIComponent(text);
}

/** A header value may not hold a line break or NUL (it would end or split the header). */
export function validHeaderValue(value: string): boolean {
  return !/[\r\n\0]/.test(value);
}

/** `base` with the query pairs appended (before any fragment). */
export function joinUrl(base: string, pairs: readonly (readonly [string, string])[]): string {
  return pairs.length === 0 ? base : withEncodedQuery(base, encodeQuery(pairs));
}

/** `base` with an encoded query string appended (before any fragment). */
export function withEncodedQuery(base: string, query: string): string {
  if (query === '') return base;
  const hash = base.indexOf('#');
  const head = hash === -1 ? base : base.slice(0, hash);
  const sep = head.includes('?') ? (head.endsWith('?') || head.endsWith('&') ? '' : '&') : '?';
  return `${head}${sep}${query}`;
}

/**
 * The parsed upstream URL. Most requests of a connector resolve to the same URL, so each compiled
 * request remembers its last one by its text: a repeat costs one comparison instead of a parse (a
 * noticeable share of a cache hit). URLs built with a secret are never remembered: secret values
 * live only as long as their request.
 */
export function upstreamUrl(client: UpstreamClient, spec: CompiledRequest, text: string): URL {
  const memo = spec.lastUrl;
  if (memo !== undefined && memo.client === client && memo.text === text) return memo.url;
  const url = client.parseUrl(text);
  if (!spec.urlUsesSecret) spec.lastUrl = { text, url, client };
  return url;
}
