import type { ExecContext, OutgoingRequest } from '../context.js';
import { RuntimeError, SCOPE } from '../errors.js';
import { UpstreamError, type UpstreamResponse } from '../../upstream/client.js';
import { BlockedDestinationError } from '../../upstream/guard.js';
import { attach, mapAuthError } from './outbound-auth.js';

/**
 * Stage 12: the upstream call through the guarded client. An upstream 401 answered to a cached
 * OAuth token evicts that token and retries once with a new one (docs/design.md#oauth-client-credentials).
 */
export async function callUpstream(ctx: ExecContext, out: OutgoingRequest, conditional: Record<string, string> = {}, scope?: (s: string) => string): Promise<UpstreamResponse> {
  ctx.timing.externalHost = out.url!.host;
  let res = await send(ctx, out, conditional, scope);
  if (res.status === 401 && out.appliedAuth?.token?.fromCache === true) {
    let fresh;
    try {
      fresh = await ctx.deps.auth.refresh(ctx.tenantId, out.resolvedAuth!, out.appliedAuth, ctx.now);
    } catch (err) {
      throw mapAuthError(err, scope);
    }
    if (fresh !== undefined) {
      attach(out, fresh);
      res = await send(ctx, out, conditional, scope);
    }
  }
  return res;
}

function headerObject(out: OutgoingRequest, conditional: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of out.headers) h[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries(conditional)) h[k.toLowerCase()] = v;
  return h;
}

async function send(ctx: ExecContext, out: OutgoingRequest, conditional: Record<string, string>, scope?: (s: string) => string): Promise<UpstreamResponse> {
  const t0 = performance.now();
  try {
    return await ctx.deps.upstream.send({ url: out.url!, method: out.spec.method, headers: headerObject(out, conditional), body: out.body });
  } catch (err) {
    throw upstreamFailure(ctx, err, scope);
  } finally {
    ctx.timing.add('http', performance.now() - t0);
  }
}

export function upstreamFailure(ctx: ExecContext, err: unknown, scope?: (s: string) => string): unknown {
  if (err instanceof BlockedDestinationError) return new RuntimeError(422, 'BLOCKED_DESTINATION', err.message);
  if (err instanceof UpstreamError) {
    const s = scope === undefined ? SCOPE.downstream : scope(SCOPE.downstream);
    const e = new RuntimeError(502, err.code, err.message, s);
    e.timeout = err.timeout;
    if (err.timeout) ctx.timing.timeout = true;
    ctx.timing.error = err.message;
    return e;
  }
  return err;
}

/** The request headers as the cache sees them (lower-case names). */
export function requestHeaders(out: OutgoingRequest): Record<string, string> {
  return headerObject(out, {});
}
