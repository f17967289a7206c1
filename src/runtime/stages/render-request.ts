import type { CompiledRequest } from '../../registry/compile.js';
import type { CompiledTemplate } from '../../templates/index.js';
import type { Call, RenderedRequest, ShownRequest } from '../context.js';
import { RuntimeError } from '../errors.js';
import { renderTemplate, renderTemplateSync, type TemplateRun } from '../render-template.js';
import type { SessionUser } from '../../auth/session.js';
import type { StepRef } from '../errors.js';
import { keepRepeated, repeatedRequest, sameRendered } from '../repeated-request.js';
import { requestPlan, type FixedRequest, type MergePlan } from '../request-plan.js';
import { encodeComponent, joinUrl, upstreamUrl, validHeaderValue, withEncodedQuery } from '../url.js';

function checkHeaderValue(name: string, value: string): void {
  if (!validHeaderValue(value)) {
    throw new RuntimeError(422, 'TEMPLATE_ERROR', `header ${name}: the rendered value contains a line break or NUL`);
  }
}

/**
 * Stage `render`: the url, header and query templates (secrets and variables are resolved by now).
 * For Test Connection it also keeps the view of the request to show: fields that use `get_secret`
 * show their template text (docs/runtime.md#test-connection).
 */
export function renderRequest(
  input: Pick<Call, 'deps' | 'test' | 'timing'> & {
    spec: CompiledRequest;
    step: StepRef | undefined;
    plan: MergePlan;
    fixed: FixedRequest | undefined;
    user: SessionUser | undefined;
    vars: Record<string, unknown>;
    templates: TemplateRun;
  },
): RenderedRequest | Promise<RenderedRequest> {
  input.timing.endSetup();
  // Nothing to render: the request is the same every time, made once per connector revision.
  if (input.fixed !== undefined) return input.fixed.rendered;
  return render(input);
}

/** The rendered text of one template of this request. */
type Rendered = (template: CompiledTemplate, where: string) => string;

type RenderInput = Pick<Call, 'deps' | 'test'> & { spec: CompiledRequest; step: StepRef | undefined; plan: MergePlan; user: SessionUser | undefined; vars: Record<string, unknown>; templates: TemplateRun };

/** The key of the anonymous caller's repeated requests. */
const ANONYMOUS_CALLER = Object.freeze({});

/** Only jwt_encode() makes a template asynchronous; a request without one renders without a promise. */
function render(input: RenderInput): RenderedRequest | Promise<RenderedRequest> {
  const { templates, vars } = input;
  if (!requestPlan(input.spec).rendersAsync) return assemble(input, (t, where) => renderTemplateSync(templates, t, vars, where));
  return renderInOrder(input);
}

/** Renders each template in the order `assemble` reads them, one after the other, then assembles. */
async function renderInOrder(input: RenderInput): Promise<RenderedRequest> {
  const { spec, plan, templates, vars } = input;
  const done = new Map<CompiledTemplate, string>();
  const add = async (t: CompiledTemplate, where: string) => void done.set(t, await renderTemplate(templates, t, vars, where));
  await add(spec.url, 'url');
  for (const q of plan.query) if ('param' in q) await add(q.param.template, `query parameter ${q.key}`);
  for (const h of plan.headers) if ('param' in h) await add(h.param.template, `header ${h.key}`);
  return assemble(input, (t) => done.get(t)!);
}

function assemble(input: RenderInput, rendered: Rendered): RenderedRequest {
  const { spec, plan } = input;
  const shown: ShownRequest | undefined = input.test === undefined ? undefined : { url: '', headers: {}, query: {} };
  const query: [string, string][] = [];
  const headers: [string, string][] = [];
  const credentialMaterial: string[] = [];
  const rawUrl = rendered(spec.url, 'url');
  for (const q of plan.query) {
    let value: string;
    if ('literal' in q) value = q.literal;
    else {
      value = rendered(q.param.template, `query parameter ${q.key}`);
      if (q.param.usesSecret || q.param.template.referencesUser) credentialMaterial.push(`q:${q.key}=${value}`);
    }
    query.push([q.key, value]);
    if (shown !== undefined) shown.query[q.key] = 'param' in q && q.param.usesSecret ? q.param.template.source : value;
  }
  for (const h of plan.headers) {
    let value: string;
    if ('literal' in h) value = h.literal;
    else {
      value = rendered(h.param.template, `header ${h.key}`);
      // Any templated header value (user, secret, variable, time) is part of the cache key: two users
      // whose requests differ only in such a header must never share an entry (docs/design.md#http-cache).
      if (!h.param.template.isLiteral) credentialMaterial.push(`h:${h.param.lower}=${value}`);
    }
    checkHeaderValue(h.key, value);
    headers.push([h.key, value]);
    if (shown !== undefined) shown.headers[h.key] = 'param' in h && h.param.usesSecret ? h.param.template.source : value;
  }
  // Test Connection's view of the URL: secret-using query values appear as their template text.
  if (shown !== undefined) shown.url = joinUrl(rawUrl, query.map(([k, v]) => [k, shown.query[k] === v ? v : shown.query[k]!]));
  const defaults = plan === requestPlan(spec).defaults;
  const client = input.deps.upstream;
  // A simple connector's call that overrides nothing, outside Test Connection: the same caller
  // repeating the same request gets the request made the first time (src/runtime/repeated-request.ts).
  const repeatable = defaults && shown === undefined && input.step === undefined;
  const values = input.templates.values;
  const caller = input.user ?? ANONYMOUS_CALLER;
  if (repeatable) {
    const held = repeatedRequest(spec, values, caller);
    if (held !== undefined && held.client === client && sameRendered(held.rendered, rawUrl, query, headers)) return held.rendered;
  }
  const text = defaults ? withEncodedQuery(rawUrl, plannedQuery(spec, query)) : joinUrl(rawUrl, query);
  const request: RenderedRequest = { baseUrl: rawUrl, url: upstreamUrl(client, spec, text), query, headers, credentialMaterial, shown, repeated: undefined };
  if (repeatable) request.repeated = keepRepeated(spec, values, caller, client, request);
  return request;
}

/**
 * The query string of a request with the plan's defaults: literal parameters were encoded once
 * (`k=v`), templated ones have their encoded `k=` and add the encoded value. `values` are the
 * rendered pairs in the same order.
 */
function plannedQuery(spec: CompiledRequest, values: readonly [string, string][]): string {
  const pieces = requestPlan(spec).query;
  let out = '';
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    out += `${i === 0 ? '' : '&'}${piece.param === undefined ? piece.encoded : piece.encodedKey + encodeComponent(values[i]![1])}`;
  }
  return out;
}
