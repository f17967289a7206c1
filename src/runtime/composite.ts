import type { CompiledComposite } from '../registry/compile.js';
import type { ExecContext, Result } from './context.js';
import { compositeScope, RuntimeError, SCOPE } from './errors.js';
import type { StepTiming } from './timing.js';
import { toRuntimeError } from './pipeline.js';
import { baseVars } from './render.js';
import { requireUserIfNeeded } from './stages/anonymous.js';
import { mergeParams } from './stages/merge.js';
import { applyAuth } from './stages/outbound-auth.js';
import { renderRequest } from './stages/render.js';
import { buildRequestBody, decodeUtf8 } from './stages/request-body.js';
import { callUpstream } from './stages/upstream.js';
import { responseHeaderDict, transformResponse } from './stages/response-body.js';
import { responseHeaders } from './stages/response-headers.js';
import { resolveValues } from './stages/secrets.js';
import { resolveUser } from './stages/session.js';
import { checkUserRateLimit } from './stages/user-rate-limit.js';
import { bytesValue } from '../templates/index.js';

/**
 * Composite connectors (docs/runtime.md#composite-connectors, docs/design.md#composite-connectors): steps run one after another, each through the same
 * stages as a simple connector (no path parameters, no caller overrides, never cached). A step
 * answering 4xx/5xx or failing stops the run; errors name the step and its 0-based index. The caller
 * gets the last step's (transformed) response.
 */
export async function runComposite(ctx: ExecContext, composite: CompiledComposite): Promise<Result> {
  let current: { name: string; index: number } | undefined;
  // The running step's timing: every step that started appears in X-Connector-Timing, failed ones too.
  let open: { timing: StepTiming; t0: number; http0: number } | undefined;
  const closeStep = () => {
    if (open === undefined) return;
    open.timing.total_ms = performance.now() - open.t0;
    open.timing.external_ms = ctx.timing.httpMs - open.http0;
    ctx.timing.steps!.push(open.timing);
    open = undefined;
  };
  const scoped = (s: string) => (current === undefined ? s : compositeScope(current.name, current.index, s));
  try {
    if (ctx.caller.method !== 'POST') {
      throw new RuntimeError(405, 'METHOD_NOT_ALLOWED', 'composite connectors are called with POST').withHeaders({ allow: 'POST' });
    }
    if (composite.steps.length === 0) throw new RuntimeError(500, 'INTERNAL', 'this composite connector has no steps', SCOPE.unexpected);
    await resolveUser(ctx);
    const limited = checkUserRateLimit(ctx);
    if (limited !== undefined) await limited;
    requireUserIfNeeded(ctx, composite.needsUser);
    await resolveValues(ctx, composite.secretNames, composite.variableNames);
    ctx.xCache = 'BYPASS';
    ctx.timing.steps = [];
    const body = ctx.caller.body;
    const contentType = ctx.caller.headers['content-type'];
    const request = {
      body_text: decodeUtf8(body),
      body_raw: body === undefined || body.length === 0 ? null : bytesValue(body),
      headers: contentType === undefined ? {} : { 'Content-Type': contentType },
      query_parameters: Object.fromEntries(ctx.caller.query),
    };
    const steps: Record<string, unknown> = {};
    let last: Result | undefined;
    for (const step of composite.steps) {
      current = { name: step.name, index: step.index };
      const timing: StepTiming = { name: step.name, index: step.index, total_ms: 0, external_ms: 0 };
      open = { timing, t0: performance.now(), http0: ctx.timing.httpMs };
      const vars = { ...baseVars(ctx), steps, request };
      // Steps have no caller overrides: the caller's query is visible only as request.query_parameters.
      const plan = mergeParams(ctx, step, [], {});
      const out = await renderRequest(ctx, step, plan, vars, scoped(SCOPE.template));
      await applyAuth(ctx, out, scoped);
      await buildRequestBody(ctx, out, vars, undefined, undefined, scoped(SCOPE.template), { body_text: request.body_text, body_raw: request.body_raw });
      timing.external_host = out.url!.host;
      const res = await callUpstream(ctx, out, {}, scoped);
      timing.status = res.status;
      if (res.status >= 400) {
        throw new RuntimeError(502, 'UPSTREAM_HTTP_ERROR', `step "${step.name}" answered ${res.status}`, scoped(SCOPE.downstreamHttp));
      }
      const result = await transformResponse(ctx, out, res, vars, scoped(SCOPE.template));
      steps[step.name] = {
        body: typeof result.body === 'string' ? result.body : decodeUtf8(result.body) ?? (result.body.length === 0 ? '' : null),
        status_code: res.status,
        headers: responseHeaderDict(res.headers),
      };
      closeStep();
      last = responseHeaders(result, res);
      ctx.out = out;
      ctx.upstream = res;
    }
    ctx.result = last;
    return last!;
  } catch (err) {
    closeStep();
    const e = toRuntimeError(ctx, err);
    if (current !== undefined && e.status === 422 && e.code === 'BLOCKED_DESTINATION') e.scope ??= scoped(SCOPE.downstream);
    throw e;
  }
}
