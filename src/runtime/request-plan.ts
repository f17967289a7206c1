import type { CompiledAuth, CompiledParam, CompiledRequest } from '../registry/compile.js';
import type { CompiledTemplate } from '../templates/index.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { AuthorizedRequest, CacheKeys, CacheSlot, IgnoredOverride, RenderedRequest } from './context.js';
import type { ResolvedAuth } from '../auth/outbound.js';
import { encodeComponent, joinUrl, upstreamUrl, validHeaderValue } from './url.js';

/** The resolved form of `authentication: none` (shared: never written to). */
export const NO_AUTH: ResolvedAuth = Object.freeze({ type: 'none' });

/**
 * The plan of one outbound request (a simple connector or one composite step): everything that is
 * the same on every request of one connector revision, computed once — on the revision's first
 * request, and kept with the compiled connector (a new revision is a new compiled object, so a
 * plan never outlives the definition it was made from). The request path reads it instead of
 * merging, encoding, lower-casing, parsing and hashing the same values again.
 *
 * A request with no per-request input (no caller query, none of the overridable headers sent, a
 * literal URL, literal header and query values, no authentication, no secret) is `fixed`: its
 * rendered and authorized forms, the cache's view of it and the cache keys are all made once.
 */
export interface RequestPlan {
  /** Which value each parameter carries when the caller overrides nothing: the `merge` stage's answer for most calls. */
  defaults: MergePlan;
  /** Lower-case names of the headers a caller may override (sending one gives the call its own merge). */
  overridableHeaders: readonly string[];
  /** Lower-case name → value of the configured headers whose value is a literal and not overridable. */
  staticHeaders: Readonly<Record<string, string>>;
  /**
   * The configured query parameters in order: the constant ones already percent-encoded (`k=v`),
   * the templated ones as their encoded `k=` and template. With the URL (literal or a template),
   * the upstream URL of a call with the defaults is these pieces and the rendered values.
   */
  query: readonly QueryPiece[];
  /** A url, query or header template signs a JWT (`jwt_encode()`): only then does rendering take a promise. */
  rendersAsync: boolean;
  /** The authentication strategy with its static parts bound. */
  auth: BoundAuth;
  /** Made on the first request that can use it, for the upstream client and cache it was made with. */
  fixed: FixedRequest | undefined;
  /** False once it is known that this request can never be fixed. */
  fixable: boolean;
}

export type Planned = { key: string; literal: string } | { key: string; param: CompiledParam };

/** Which value each query parameter and header of one request carries (stage `merge`). */
export interface MergePlan {
  query: Planned[];
  headers: Planned[];
  /** Declared non-overridable entries the caller tried to set (Test Connection's `ignored_overrides`). */
  ignored: IgnoredOverride[];
}

export type QueryPiece = { key: string; encoded: string; param: undefined } | { key: string; encodedKey: string; param: CompiledParam };

/** The authentication config, its constant parts taken out of the per-request work. */
export type BoundAuth =
  | { type: 'none' }
  /** An API key: only the value renders per request (no promise unless it signs a JWT); the key and where it goes are fixed. */
  | { type: 'api_key'; key: string; in: 'header' | 'query'; value: CompiledTemplate }
  /** Token-based strategies render every field per request (tokens are cached by their rendered inputs). */
  | { type: 'rendered'; auth: Exclude<CompiledAuth, { type: 'none' | 'api_key' }> };

/** A request that is the same every time: built once per upstream client and cache. */
export interface FixedRequest {
  client: UpstreamClient;
  cache: CacheSlot | undefined;
  rendered: RenderedRequest;
  authorized: AuthorizedRequest;
  /** The request as the cache sees it (lower-case header names). */
  cacheRequest: { method: string; url: string; headers: Readonly<Record<string, string>>; body: undefined };
  /** The cache keys of this request, hashed once; undefined without a cache. */
  cacheKeys: CacheKeys | undefined;
}

const plans = new WeakMap<CompiledRequest, RequestPlan>();

/** The plan of a compiled request, made on first use. */
export function requestPlan(spec: CompiledRequest): RequestPlan {
  let plan = plans.get(spec);
  if (plan === undefined) {
    plan = makePlan(spec);
    plans.set(spec, plan);
  }
  return plan;
}

function makePlan(spec: CompiledRequest): RequestPlan {
  const staticHeaders: Record<string, string> = {};
  const overridableHeaders: string[] = [];
  for (const h of spec.headers) {
    if (h.overridable) overridableHeaders.push(h.lower);
    else if (h.template.isLiteral) staticHeaders[h.lower] = h.template.source;
  }
  const query: QueryPiece[] = spec.query.map((p) =>
    p.template.isLiteral ? { key: p.key, encoded: `${encodeComponent(p.key)}=${encodeComponent(p.template.source)}`, param: undefined } : { key: p.key, encodedKey: `${encodeComponent(p.key)}=`, param: p },
  );
  const fixable =
    (spec.method === 'GET' || spec.method === 'HEAD') &&
    spec.url.isLiteral &&
    spec.auth.type === 'none' &&
    spec.secretNames.length === 0 &&
    spec.headers.every((h) => h.template.isLiteral) &&
    spec.query.every((q) => q.template.isLiteral);
  return {
    defaults: {
      query: spec.query.map((p) => ({ key: p.key, param: p })),
      headers: spec.headers.map((h) => ({ key: h.key, param: h })),
      ignored: [],
    },
    overridableHeaders,
    staticHeaders: Object.freeze(staticHeaders),
    query,
    rendersAsync: spec.url.usesAsync || spec.query.some((q) => q.template.usesAsync) || spec.headers.some((h) => h.template.usesAsync),
    auth: bindAuth(spec.auth),
    fixed: undefined,
    fixable,
  };
}

const BOUND_NONE: BoundAuth = Object.freeze({ type: 'none' });

/**
 * API-key strategies by value template (compiled templates are shared by source text), then by
 * where the key goes. Connectors configured alike share one bound strategy, and with it the applied
 * key the `outbound-auth` stage keeps per strategy and set of secret values (a tenant's own set: the
 * applied key is made from the rendered value alone and checked against it on every use).
 */
const apiKeyStrategies = new WeakMap<CompiledTemplate, Map<string, Extract<BoundAuth, { type: 'api_key' }>>>();

function bindAuth(auth: CompiledAuth): BoundAuth {
  switch (auth.type) {
    case 'none':
      return BOUND_NONE;
    case 'api_key': {
      let byPlace = apiKeyStrategies.get(auth.value);
      if (byPlace === undefined) apiKeyStrategies.set(auth.value, (byPlace = new Map()));
      const place = `${auth.in}\n${auth.key}`;
      let bound = byPlace.get(place);
      if (bound === undefined) {
        bound = Object.freeze({ type: 'api_key' as const, key: auth.key, in: auth.in, value: auth.value });
        byPlace.set(place, bound);
      }
      return bound;
    }
    default:
      return { type: 'rendered', auth };
  }
}

/**
 * The fixed form of a request, made once per upstream client and cache (tests and Test Connection
 * may run other clients); `scope` is the cache scope of a simple connector (composite steps are
 * never cached). Undefined when the request takes per-request input, or when its URL or a header
 * value would be refused (the ordinary path then answers with that error).
 */
export function fixedRequest(
  spec: CompiledRequest,
  plan: RequestPlan,
  client: UpstreamClient,
  cache: CacheSlot | undefined,
  scope: { tenant: string; permalink: string; revision: string } | undefined,
): FixedRequest | undefined {
  const held = plan.fixed;
  if (held !== undefined && held.client === client && held.cache === cache) return held;
  if (!plan.fixable) return undefined;
  const query: [string, string][] = spec.query.map((q) => [q.key, q.template.source]);
  const headers: [string, string][] = spec.headers.map((h) => [h.key, h.template.source]);
  let url: URL;
  try {
    url = upstreamUrl(client, spec, joinUrl(spec.url.source, query));
  } catch {
    plan.fixable = false;
    return undefined;
  }
  if (headers.some(([, v]) => !validHeaderValue(v))) {
    plan.fixable = false;
    return undefined;
  }
  const rendered: RenderedRequest = { baseUrl: spec.url.source, url, query, headers, credentialMaterial: [], shown: undefined, repeated: undefined };
  // What authorize() makes of a request without authentication or secrets.
  const authorized: AuthorizedRequest = { url, query, headers, resolved: NO_AUTH, applied: undefined, credentialMaterial: rendered.credentialMaterial, sensitive: [] };
  const lower: Record<string, string> = {};
  for (const [k, v] of headers) lower[k.toLowerCase()] = v;
  const cacheRequest = { method: spec.method, url: url.href, headers: Object.freeze(lower), body: undefined };
  const cacheKeys = scope === undefined ? undefined : cache?.keysFor?.(scope, cacheRequest, authorized.credentialMaterial);
  const fixed: FixedRequest = { client, cache, rendered, authorized, cacheRequest, cacheKeys };
  plan.fixed = fixed;
  return fixed;
}
