import type { CompiledRequest } from '../../registry/compile.js';
import { callerBodyVars, decodeUtf8 } from '../body-text.js';
import type { Call, OutgoingBody } from '../context.js';
import type { StepRef } from '../errors.js';
import { renderTemplate, type TemplateRun } from '../render-template.js';

const NO_BODY: OutgoingBody = Object.freeze({ body: undefined, contentType: undefined, shown: null });

/**
 * Stage `request-body` (docs/design.md#request-bodies): GET/HEAD send no body. A `request_body` template
 * renders the body from `body_text`/`body_raw` (None without a body) and is sent as
 * application/json unless a configured header sets the type; without a template the caller's body
 * goes out byte for byte with the caller's Content-Type. A composite step's template sees the
 * composite caller's body; its caller body is never forwarded.
 */
export function buildRequestBody(
  input: Pick<Call, 'caller'> & { spec: CompiledRequest; step: StepRef | undefined; vars: Record<string, unknown>; templates: TemplateRun },
): OutgoingBody | Promise<OutgoingBody> {
  const { spec, caller } = input;
  const method = spec.method;
  // Only a request_body template takes a promise; GET/HEAD and a forwarded caller body do not.
  if (method === 'GET' || method === 'HEAD') return NO_BODY;
  const template = spec.requestBody;
  if (template !== undefined) {
    return renderTemplate(input.templates, template, { ...input.vars, ...callerBodyVars(caller.body) }, 'request_body').then((text) => ({
      body: text,
      contentType: spec.hasContentTypeHeader ? undefined : 'application/json',
      shown: text,
    }));
  }
  const callerBody = input.step === undefined ? caller.body : undefined;
  if (callerBody === undefined || callerBody.length === 0) return NO_BODY;
  const type = caller.headers['content-type'];
  return { body: callerBody, contentType: spec.hasContentTypeHeader ? undefined : type, shown: decodeUtf8(callerBody) ?? `<${callerBody.length} bytes>` };
}
