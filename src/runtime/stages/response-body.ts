import type { ExecContext, OutgoingRequest, Result } from '../context.js';
import { SCOPE } from '../errors.js';
import { renderTemplate, renderTemplateSync } from '../render.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { decodeUtf8 } from './request-body.js';

/** `response.headers`: lower-case names, repeated headers joined as one string. */
export function responseHeaderDict(headers: UpstreamResponse['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  }
  return out;
}

/**
 * Stage 13 (docs/design.md#upstream-errors): the upstream status passes through; a `response_body` template
 * runs on every status with `response.body` (None if not UTF-8), `.status_code`, `.headers`.
 * A render failure is 422 with scope `Configuration (response template rendering)`.
 */
export async function transformResponse(
  ctx: ExecContext,
  out: OutgoingRequest,
  res: UpstreamResponse,
  vars: Record<string, unknown>,
  scope: string = SCOPE.responseTemplate,
): Promise<Result> {
  const upstreamType = res.headers['content-type'];
  const contentType = out.spec.responseContentType ?? (Array.isArray(upstreamType) ? upstreamType[0] : upstreamType);
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  const template = out.spec.responseBody;
  if (template === undefined) return { status: res.status, headers, body: res.body };
  const response = { body: decodeUtf8(res.body) ?? (res.body.length === 0 ? '' : null), status_code: res.status, headers: responseHeaderDict(res.headers) };
  // Not `{ ...vars, response }`: adding a key to a spread copy takes V8's slow path every time.
  const all: Record<string, unknown> = Object.assign({ response }, vars);
  all.response = response;
  const text = template.usesAsync ? await renderTemplate(ctx, template, all, 'response_body', scope) : renderTemplateSync(ctx, template, all, 'response_body', scope);
  return { status: res.status, headers, body: text };
}
