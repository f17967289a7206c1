import { bytesValue } from '../../templates/index.js';
import type { ExecContext, OutgoingRequest } from '../context.js';
import { SCOPE } from '../errors.js';
import { renderTemplate } from '../render.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function decodeUtf8(buf: Buffer | undefined): string | null {
  if (buf === undefined || buf.length === 0) return null;
  try {
    return utf8.decode(buf);
  } catch {
    return null;
  }
}

/**
 * Stage 10 (docs/design.md#request-bodies): GET/HEAD send no body. A `request_body` template renders the body
 * from `body_text`/`body_raw` (None without a body) and is sent as application/json unless a
 * configured header sets the type; without a template the caller's body goes out byte for byte
 * with the caller's Content-Type.
 */
export async function buildRequestBody(
  ctx: ExecContext,
  out: OutgoingRequest,
  vars: Record<string, unknown>,
  callerBody: Buffer | undefined,
  callerContentType: string | undefined,
  scope: string = SCOPE.template,
  extraVars?: Record<string, unknown>,
): Promise<void> {
  const method = out.spec.method;
  if (method === 'GET' || method === 'HEAD') return;
  const template = out.spec.requestBody;
  if (template !== undefined) {
    const bodyVars = extraVars ?? {
      body_text: decodeUtf8(callerBody),
      body_raw: callerBody === undefined || callerBody.length === 0 ? null : bytesValue(callerBody),
    };
    const text = await renderTemplate(ctx, template, { ...vars, ...bodyVars }, 'request_body', scope);
    out.body = text;
    if (out.debug !== undefined) out.debug.request_body = text;
    if (!out.spec.hasContentTypeHeader) out.headers.push(['content-type', 'application/json']);
    return;
  }
  if (callerBody !== undefined && callerBody.length > 0) {
    out.body = callerBody;
    if (out.debug !== undefined) out.debug.request_body = decodeUtf8(callerBody) ?? `<${callerBody.length} bytes>`;
    if (!out.spec.hasContentTypeHeader && callerContentType !== undefined) out.headers.push(['content-type', callerContentType]);
  }
}
