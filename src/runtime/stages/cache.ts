import type { ExecContext, OutgoingRequest } from '../context.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { callUpstream, requestHeaders } from './upstream.js';

/**
 * Stage 11: the cache slot (docs/runtime.md, docs/design.md#http-cache). GET/HEAD of a simple connector go
 * through the response cache when one is configured; everything else — other methods, Test
 * Connection, composite steps — is BYPASS and calls the upstream directly.
 */
export async function fetchThroughCache(ctx: ExecContext, out: OutgoingRequest): Promise<UpstreamResponse> {
  const cache = ctx.deps.cache;
  const method = out.spec.method;
  if (cache === undefined || ctx.test !== undefined || ctx.compiled === undefined || (method !== 'GET' && method !== 'HEAD')) {
    ctx.xCache = 'BYPASS';
    cache?.noteBypass?.();
    return callUpstream(ctx, out);
  }
  ctx.xCache = 'MISS';
  const before = ctx.timing.httpMs;
  const result = await cache.fetch({
    scope: { tenant: ctx.tenantId, permalink: ctx.compiled.permalink, revision: ctx.compiled.revision },
    request: { method, url: out.url!.href, headers: requestHeaders(out), body: out.body },
    credentials: out.credentialMaterial,
    sensitive: out.sensitive,
    doFetch: (conditional) => callUpstream(ctx, out, conditional),
  });
  ctx.xCache = result.xCache;
  // callUpstream already counted its own time; the cache reports the rest (lookups, waiting).
  ctx.timing.add('cache', result.cacheMs);
  if (ctx.timing.httpMs === before && result.upstreamMs > 0) ctx.timing.add('http', result.upstreamMs);
  if (result.xCache === 'HIT') ctx.timing.externalHost = undefined;
  return result.response as UpstreamResponse;
}
