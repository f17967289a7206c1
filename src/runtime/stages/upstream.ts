import type { CompiledConnector, CompiledRequest } from '../../registry/compile.js';
import type { AuthorizedRequest, Call, Fetched, OutgoingBody, RenderedRequest, RuntimeTenant, TemplateValues } from '../context.js';
import type { StepRef } from '../errors.js';
import { headerObject } from '../outgoing.js';
import type { FixedRequest } from '../request-plan.js';
import { callUpstream, type UpstreamCall } from '../upstream-call.js';

/**
 * Stage `upstream` (docs/runtime.md, docs/design.md#http-cache): GET/HEAD of a simple connector go through the
 * response cache when one is configured; everything else — other methods, Test Connection (counted
 * as BYPASS), composite steps — calls the upstream directly.
 */
export async function fetchUpstream(
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
): Promise<Fetched> {
  const { timing, connector } = input;
  const method = input.spec.method;
  const outbound = input.trace?.outbound(input.tenant?.trace_propagation !== false);
  const u: UpstreamCall = { call: input, method, rendered: input.rendered, values: input.templates.values, authorized: input.authorized, body: input.body, outbound };
  if (input.step !== undefined) return { response: await callUpstream(u), xCache: 'BYPASS' };
  const cache = input.deps.cache;
  if (cache === undefined || input.test !== undefined || (method !== 'GET' && method !== 'HEAD')) {
    cache?.noteBypass?.();
    return { response: await callUpstream(u), xCache: 'BYPASS' };
  }
  const before = timing.httpMs;
  const fixed = input.fixed;
  const result = await cache.fetch({
    scope: connector,
    // A fixed request comes with its cache view and keys, made once per connector revision.
    request: fixed?.cacheRequest ?? { method, url: input.authorized.url.href, headers: headerObject(input.authorized, input.body), body: input.body.body },
    credentials: input.authorized.credentialMaterial,
    keys: fixed?.cacheKeys,
    sensitive: input.authorized.sensitive,
    doFetch: (conditional) => callUpstream(u, conditional),
  });
  // callUpstream already counted its own time; the cache reports the rest (lookups, waiting).
  timing.add('cache', result.cacheMs);
  if (timing.httpMs === before && result.upstreamMs > 0) timing.add('http', result.upstreamMs);
  if (result.xCache === 'HIT') timing.externalHost = undefined;
  return { response: result.response as Fetched['response'], xCache: result.xCache };
}
