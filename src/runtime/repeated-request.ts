import type { AppliedAuth } from '../auth/outbound.js';
import type { CompiledRequest } from '../registry/compile.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { AuthorizedRequest, CacheKeys, CacheSlot, RenderedRequest, TemplateValues } from './context.js';

/**
 * A request one caller sends again and again: a widget user calling the same connector with the
 * same session, secrets and variables renders the same URL, query and headers every time. Kept per
 * connector revision (its compiled request), per set of secret and variable values and per session
 * user (the object a remembered token yields on every call; one key for anonymous callers), so that the repeat
 * reuses what was made from it the first time: the parsed URL, the request with its authentication
 * applied, the cache's view of it and its cache keys (two SHA-256 hashes).
 *
 * A repeat is recognised by what was rendered, never assumed: the `render` stage renders every
 * template as usual and reuses the kept request only when every rendered value equals the kept one
 * (so a template reading the time, a random filter or anything else that changes is simply not
 * repeated). Each later part is reused only when its own inputs are the very objects it was made
 * from (the applied authentication, the upstream client, the cache). Nothing is kept longer than
 * the values it was made from: a secret change brings a new set of values, and the requests kept
 * for the old one go with it; a session leaving the verified-token cache takes its user's requests
 * with it, and a new connector revision has a compiled request of its own (the old one's requests
 * stay until MAX_KEPT_CONNECTORS newer connectors push them out).
 */
export interface RepeatedRequest {
  /** The client whose URL rules parsed `rendered.url`. */
  client: UpstreamClient;
  rendered: RenderedRequest;
  /** Made by `outbound-auth` on the first repeat: `rendered` with `applied` (undefined: no authentication). */
  authorized: { applied: AppliedAuth | undefined; request: AuthorizedRequest } | undefined;
  /** Made by `upstream`: the cache's view of `authorized` (no body: GET or HEAD) and its keys. */
  cached: { cache: CacheSlot; authorized: AuthorizedRequest; request: CachedView; keys: CacheKeys | undefined } | undefined;
}

/** The request as the cache sees it (lower-case header names). */
export interface CachedView {
  method: string;
  url: string;
  headers: Readonly<Record<string, string>>;
  body: undefined;
}

/**
 * Connectors whose repeated requests are kept, at most MAX_KEPT_CONNECTORS, the first kept going
 * first: a process that served every connector of a large registry once (each would keep about
 * 1.5 KB) keeps the requests of the latest ones only.
 */
const kept = new Map<CompiledRequest, WeakMap<TemplateValues, WeakMap<object, RepeatedRequest>>>();

export const MAX_KEPT_CONNECTORS = 1000;

/** The request kept for this connector revision, set of values and caller, if any. */
export function repeatedRequest(spec: CompiledRequest, values: TemplateValues, user: object): RepeatedRequest | undefined {
  return kept.get(spec)?.get(values)?.get(user);
}

/** Keeps `rendered` as the request this user repeats (replacing the one kept before). */
export function keepRepeated(spec: CompiledRequest, values: TemplateValues, user: object, client: UpstreamClient, rendered: RenderedRequest): RepeatedRequest {
  let byValues = kept.get(spec);
  if (byValues === undefined) {
    if (kept.size >= MAX_KEPT_CONNECTORS) kept.delete(kept.keys().next().value!);
    kept.set(spec, (byValues = new WeakMap()));
  }
  let byUser = byValues.get(values);
  if (byUser === undefined) byValues.set(values, (byUser = new WeakMap()));
  const repeated: RepeatedRequest = { client, rendered, authorized: undefined, cached: undefined };
  byUser.set(user, repeated);
  return repeated;
}

/** True when `rendered` holds exactly these rendered values (the URL before its query, each query pair, each header). */
export function sameRendered(rendered: RenderedRequest, baseUrl: string, query: readonly [string, string][], headers: readonly [string, string][]): boolean {
  return rendered.baseUrl === baseUrl && samePairs(rendered.query, query) && samePairs(rendered.headers, headers);
}

function samePairs(a: readonly [string, string][], b: readonly [string, string][]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x[0] !== y[0] || x[1] !== y[1]) return false;
  }
  return true;
}
