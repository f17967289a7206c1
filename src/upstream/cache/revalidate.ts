import type CachePolicy from 'http-cache-semantics';
import { evaluateStorable, storableHeaders, type HeaderMap, type StorableVerdict } from './policy.js';

/**
 * Revalidation of a stale entry (RFC 9111 §4.3): the conditional request carries the stored
 * validators, and a 304 turns the stored body back into a usable response.
 */

/** `If-None-Match` / `If-Modified-Since` for the stored entry; empty when it has no validator. */
export function conditionalHeaders(policy: CachePolicy, sanitized: CachePolicy.Request): HeaderMap {
  const all = policy.revalidationHeaders(sanitized);
  const out: HeaderMap = {};
  for (const name of ['if-none-match', 'if-modified-since'] as const) {
    const value = all[name];
    if (typeof value === 'string' && value !== '') out[name] = value;
  }
  return out;
}

/** Fields a 304 must not change: they describe the stored body, which is kept (RFC 9111 §3.2). */
const BODY_FIELDS = new Set(['content-length', 'content-encoding', 'content-range', 'transfer-encoding']);

/**
 * RFC 9111 §3.2: the 304's fields replace *and add to* the stored ones. (http-cache-semantics only
 * replaces fields the stored response already had, so a 304 that adds `Cache-Control: max-age` to an
 * ETag-only entry would be ignored; we merge ourselves and build the new policy from the result.)
 * `Age` is dropped from the stored side because the stored value is about the first response.
 */
export function mergeNotModified(stored: HeaderMap, notModified: HeaderMap): HeaderMap {
  const merged: HeaderMap = {};
  for (const [name, value] of Object.entries(stored)) if (name !== 'age') merged[name] = value;
  for (const [name, value] of Object.entries(storableHeaders(notModified))) {
    if (!BODY_FIELDS.has(name)) merged[name] = value;
  }
  // Without a Date on the 304, the stored one would make an `Expires` look further away than it is.
  merged.date = notModified.date ?? new Date().toUTCString();
  return merged;
}

export type RevalidationOutcome =
  | { validated: false }
  | {
      validated: true;
      /** The 304 carried the stored validator: the entry may be updated. */
      matches: boolean;
      headers: HeaderMap;
      /** Whether (and how long) the refreshed entry may be stored. */
      verdict: StorableVerdict;
    };

export function applyNotModified(
  policy: CachePolicy,
  sanitized: CachePolicy.Request,
  storedStatus: number,
  storedHeaders: HeaderMap,
  notModified: HeaderMap,
  method: string,
  requestId: string,
  requestHeaders: HeaderMap,
): RevalidationOutcome {
  const { modified, matches } = policy.revalidatedPolicy(sanitized, { status: 304, headers: storableHeaders(notModified) });
  if (modified) return { validated: false };
  const headers = mergeNotModified(storedHeaders, notModified);
  return { validated: true, matches, headers, verdict: evaluateStorable(method, requestId, requestHeaders, storedStatus, headers) };
}
