import type { ExecContext, Result } from './context.js';
import { isRedisUnavailable } from '../redis/errors.js';
import { RuntimeError, serviceUnavailable } from './errors.js';
import { baseVars, scrub } from './render.js';
import { requireUserIfNeeded } from './stages/anonymous.js';
import { fetchThroughCache } from './stages/cache.js';
import { loadConnector } from './stages/load.js';
import { mergeParams } from './stages/merge.js';
import { checkMethod } from './stages/method.js';
import { applyAuth } from './stages/outbound-auth.js';
import { resolvePathParams } from './stages/path-params.js';
import { renderRequest } from './stages/render.js';
import { buildRequestBody } from './stages/request-body.js';
import { transformResponse } from './stages/response-body.js';
import { responseHeaders } from './stages/response-headers.js';
import { resolveValues } from './stages/secrets.js';
import { resolveUser } from './stages/session.js';
import { checkUserRateLimit } from './stages/user-rate-limit.js';
import { upstreamFailure } from './stages/upstream.js';

/**
 * The execute pipeline of a simple connector, in the order docs/runtime.md describes:
 * load → method → merge → path params → user → per-user rate limit → anonymous check → secrets/variables → render
 * (url, headers, query, auth config) → outbound auth → request body → cache → upstream →
 * response template → response headers.
 */
export async function runConnector(ctx: ExecContext): Promise<Result> {
  try {
    await loadConnector(ctx);
    const c = ctx.compiled!;
    checkMethod(ctx);
    const plan = mergeParams(ctx, c, ctx.caller.query, ctx.caller.headers);
    resolvePathParams(ctx);
    await resolveUser(ctx);
    const limited = checkUserRateLimit(ctx);
    if (limited !== undefined) await limited;
    requireUserIfNeeded(ctx, c.needsUser);
    await resolveValues(ctx, c.secretNames, c.variableNames);
    const vars = baseVars(ctx);
    const out = await renderRequest(ctx, c, plan, vars);
    ctx.out = out;
    await applyAuth(ctx, out);
    const contentType = ctx.caller.headers['content-type'];
    await buildRequestBody(ctx, out, vars, ctx.caller.body, contentType);
    const res = await fetchThroughCache(ctx, out);
    ctx.upstream = res;
    const result = await transformResponse(ctx, out, res, vars);
    ctx.result = responseHeaders(result, res);
    return ctx.result;
  } catch (err) {
    throw toRuntimeError(ctx, err);
  }
}

/** Every failure leaves the pipeline as a RuntimeError (unexpected ones as 500 INTERNAL, logged). */
export function toRuntimeError(ctx: ExecContext, err: unknown): RuntimeError {
  if (err instanceof RuntimeError) return err;
  const mapped = upstreamFailure(ctx, err);
  if (mapped instanceof RuntimeError) return mapped;
  if (isRedisUnavailable(err)) {
    ctx.deps.log.warn({ err: { type: (err as Error).name, message: (err as Error).message }, request_id: ctx.requestId, tenant: ctx.tenantId }, 'Redis unavailable: answered 503');
    return serviceUnavailable();
  }
  // The error may quote the upstream URL or a header (an API key in a query string): scrub before logging.
  const e = err instanceof Error ? err : new Error(String(err));
  const logged = { type: e.name, message: scrub(e.message, ctx), stack: scrub(e.stack ?? '', ctx) };
  ctx.deps.log.error({ err: logged, request_id: ctx.requestId, tenant: ctx.tenantId, permalink: ctx.permalink }, 'connector execution failed unexpectedly');
  return new RuntimeError(500, 'INTERNAL', `unexpected error; quote request id ${ctx.requestId} when reporting it`);
}
