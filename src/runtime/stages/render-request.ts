import type { CompiledParam, CompiledRequest } from '../../registry/compile.js';
import type { Call, RenderedRequest, ShownRequest } from '../context.js';
import { RuntimeError } from '../errors.js';
import { renderEither, type TemplateRun } from '../render-template.js';
import { joinUrl, upstreamUrl } from '../url.js';
import type { MergePlan } from './merge.js';

function checkHeaderValue(name: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new RuntimeError(422, 'TEMPLATE_ERROR', `header ${name}: the rendered value contains a line break or NUL`);
  }
}

/**
 * Stage `render`: the url, header and query templates (secrets and variables are resolved by now).
 * For Test Connection it also keeps the view of the request to show: fields that use `get_secret`
 * show their template text (docs/runtime.md#test-connection).
 */
export async function renderRequest(
  input: Pick<Call, 'deps' | 'test' | 'timing'> & { spec: CompiledRequest; plan: MergePlan; vars: Record<string, unknown>; templates: TemplateRun },
): Promise<RenderedRequest> {
  const { spec, plan, vars, templates } = input;
  input.timing.endSetup();
  const shown: ShownRequest | undefined = input.test === undefined ? undefined : { url: '', headers: {}, query: {} };
  const query: [string, string][] = [];
  const headers: [string, string][] = [];
  const credentialMaterial: string[] = [];
  // Only jwt_encode() makes a template asynchronous; every other value renders without a promise.
  const one = (p: CompiledParam, what: string): string | Promise<string> => renderEither(templates, p.template, vars, `${what} ${p.key}`);

  const u = renderEither(templates, spec.url, vars, 'url');
  const rawUrl = typeof u === 'string' ? u : await u;
  for (const q of plan.query) {
    let value: string;
    if ('literal' in q) value = q.literal;
    else {
      const v = one(q.param, 'query parameter');
      value = typeof v === 'string' ? v : await v;
      if (q.param.usesSecret || q.param.template.referencesUser) credentialMaterial.push(`q:${q.key}=${value}`);
    }
    query.push([q.key, value]);
    if (shown !== undefined) shown.query[q.key] = 'param' in q && q.param.usesSecret ? q.param.template.source : value;
  }
  for (const h of plan.headers) {
    let value: string;
    if ('literal' in h) value = h.literal;
    else {
      const v = one(h.param, 'header');
      value = typeof v === 'string' ? v : await v;
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
  return { baseUrl: rawUrl, url: upstreamUrl(input.deps.upstream, spec, rawUrl, query), query, headers, credentialMaterial, shown };
}
