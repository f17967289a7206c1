import type { CompiledRequest } from '../../registry/compile.js';
import type { UpstreamResponse } from '../../upstream/client.js';
import { decodeUtf8 } from '../body-text.js';
import type { Fetched, Result } from '../context.js';
import { renderEither, type TemplateRun } from '../render-template.js';

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
 * Stage `response-body` (docs/design.md#upstream-errors): the upstream status passes through; a
 * `response_body` template runs on every status with `response.body` (None if not UTF-8),
 * `.status_code`, `.headers`.
 */
export function transformResponse(input: { spec: CompiledRequest; fetched: Fetched; vars: Record<string, unknown>; templates: TemplateRun }): Result | Promise<Result> {
  const { spec } = input;
  const res = input.fetched.response;
  const upstreamType = res.headers['content-type'];
  const contentType = spec.responseContentType ?? (Array.isArray(upstreamType) ? upstreamType[0] : upstreamType);
  const headers: Record<string, string> = {};
  if (contentType !== undefined) headers['content-type'] = contentType;
  const template = spec.responseBody;
  if (template === undefined) return { status: res.status, headers, body: res.body };
  const response = { body: decodeUtf8(res.body) ?? (res.body.length === 0 ? '' : null), status_code: res.status, headers: responseHeaderDict(res.headers) };
  // Not `{ ...vars, response }`: adding a key to a spread copy takes V8's slow path every time.
  const all: Record<string, unknown> = Object.assign({ response }, input.vars);
  all.response = response;
  // Only a template using jwt_encode() renders with a promise.
  const t = renderEither(input.templates, template, all, 'response_body');
  return typeof t === 'string' ? { status: res.status, headers, body: t } : t.then((body) => ({ status: res.status, headers, body }));
}
