import type { CompiledConnector, CompiledRequest } from '../../registry/compile.js';
import type { AuthorizedRequest, CacheKeys, CacheSlot, Call, Fetched, OutgoingBody, RenderedRequest, RuntimeTenant, TemplateValues } from '../context.js';
import type { CachedView } from '../repeated-request.js';
import type { StepRef } from '../errors.js';
import { headerObject } from '../outgoing.js';
import type { FixedRequest } from '../request-plan.js';
import { callUpstream, type UpstreamCall } from '../upstream-call.js';
import type { Timing } from '../timing.js';

/**
 * Stage `upstream` (docs/runtime.md, docs/design.md#http-cache): GET/HEAD of a simple connector go through the
 * response cache when one is configured; everything else — other methods, Test Connection (counted
 * as BYPASS), composite steps — calls the upstream directly.
 */
export function fetchUpstream(
  input: Pick<Call, 'deps' | 'tenantId' | 'now' | 'timing' | 'test' | 'trace'> & {
    tenant: RuntimeTenant | undefined;
    connector: CompiledConnector;
    spec: CompiledRequest;
    step: StepRef | undefined;
    rendered: RenderedRequest;
    templates: { values: TemplateValues };
    authorized: AuthorizedRequest;
    body: OutgoingBody;
    fixed: FixedRequest | undefined;
  },
): Fetched | Promise<Fetched> {
  const { timing, connector } = input;
  const method = input.spec.method;
  const outbound = input.trace?.outbound(input.tenant?.trace_propagation !== false);
  const u: UpstreamCall = { call: input, method, rendered: input.rendered, values: input.templates.values, authorized: input.authorized, body: input.body, outbound };
  if (input.step !== undefined) return callUpstream(u).then(bypassed);
  const cache = input.deps.cache;
  if (cache === undefined || input.test !== undefined || (method !== 'GET' && method !== 'HEAD')) {
    cache?.noteBypass?.();
    return callUpstream(u).then(bypassed);
  }
  const before = timing.httpMs;
  // A fixed request comes with its cache view and keys, made once per connector revision; a
  // request its caller repeats has them made once per caller.
  const fixed = input.fixed;
  const view = fixed === undefined ? cachedView(input, method, cache) : undefined;
  const request = {
    scope: connector,
    request: fixed?.cacheRequest ?? view?.request ?? { method, url: input.authorized.url.href, headers: headerObject(input.authorized, input.body), body: input.body.body },
    credentials: input.authorized.credentialMaterial,
    keys: fixed?.cacheKeys ?? view?.keys,
    sensitive: input.authorized.sensitive,
    doFetch: (conditional: Record<string, string>) => callUpstream(u, conditional),
  };
  // An answer the cache keeps in this process's memory comes without a promise.
  const result = cache.fetchOrKept !== undefined ? cache.fetchOrKept(request) : cache.fetch(request);
  if (result instanceof Promise) return result.then((r) => fetched(r, timing, before));
  return fetched(result, timing, before);
}

/**
 * The cache's view and keys of a request its caller repeats (src/runtime/repeated-request.ts), made
 * on its first use with this cache. Only for the authorized request kept with it and no body
 * (GET and HEAD send none); undefined otherwise (the cache then computes them itself).
 */
function cachedView(
  input: { connector: CompiledConnector; rendered: RenderedRequest; authorized: AuthorizedRequest; body: OutgoingBody },
  method: string,
  cache: CacheSlot,
): { request: CachedView; keys: CacheKeys | undefined } | undefined {
  const repeated = input.rendered.repeated;
  const authorized = input.authorized;
  if (repeated === undefined || repeated.authorized?.request !== authorized || input.body.body !== undefined || input.body.contentType !== undefined) return undefined;
  const held = repeated.cached;
  if (held !== undefined && held.cache === cache && held.authorized === authorized) return held;
  const request: CachedView = { method, url: authorized.url.href, headers: Object.freeze(headerObject(authorized, input.body)), body: undefined };
  const cached = { cache, authorized, request, keys: cache.keysFor?.(input.connector, request, authorized.credentialMaterial) };
  repeated.cached = cached;
  return cached;
}

function bypassed(response: Fetched['response']): Fetched {
  return { response, xCache: 'BYPASS' };
}

type CacheResult = Awaited<ReturnType<NonNullable<Call['deps']['cache']>['fetch']>>;

function fetched(result: CacheResult, timing: Timing, before: number): Fetched {
  // callUpstream already counted its own time; the cache reports the rest (lookups, waiting).
  timing.add('cache', result.cacheMs);
  if (timing.httpMs === before && result.upstreamMs > 0) timing.add('http', result.upstreamMs);
  if (result.xCache === 'HIT') timing.externalHost = undefined;
  return { response: result.response as Fetched['response'], xCache: result.xCache };
}
