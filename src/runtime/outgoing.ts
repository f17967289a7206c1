import type { AppliedAuth, ResolvedAuth } from '../auth/outbound.js';
import type { UpstreamClient } from '../upstream/client.js';
import type { AuthorizedRequest, OutgoingBody, RenderedRequest, TemplateValues } from './context.js';
import { joinUrl } from './url.js';

/**
 * The outgoing request with an authentication result applied: auth headers replace configured
 * headers of the same name; an API key in the query replaces any value of that name (docs/design.md#request-bodies).
 * Used by the `outbound-auth` stage, and again by the upstream call when a refreshed token replaces
 * one the upstream refused.
 */
export function authorize(
  client: UpstreamClient,
  rendered: RenderedRequest,
  values: TemplateValues,
  resolved: ResolvedAuth,
  applied: AppliedAuth | undefined,
): AuthorizedRequest {
  const sensitive = values.secrets.size === 0 ? [] : [...values.secrets.values()];
  if (applied === undefined) {
    return { url: rendered.url, query: rendered.query, headers: rendered.headers, resolved, applied, credentialMaterial: rendered.credentialMaterial, sensitive };
  }
  let headers = rendered.headers;
  if (applied.headers.length > 0) {
    const names = new Set(applied.headers.map(([k]) => k.toLowerCase()));
    headers = [...headers.filter(([k]) => !names.has(k.toLowerCase())), ...applied.headers];
    for (const [, v] of applied.headers) sensitive.push(v);
  }
  let query = rendered.query;
  let url = rendered.url;
  if (applied.query.length > 0) {
    const names = new Set(applied.query.map(([k]) => k));
    query = [...query.filter(([k]) => !names.has(k)), ...applied.query];
    for (const [, v] of applied.query) sensitive.push(v);
    url = authorizedUrl(client, applied, joinUrl(rendered.baseUrl, query));
  }
  const credentialMaterial = [...rendered.credentialMaterial, `auth:${applied.credentialDigest}`];
  return { url, query, headers, resolved, applied, credentialMaterial, sensitive };
}

/**
 * The last URL parsed for each applied authentication that puts a value in the query (an API key
 * in the query: the same text on every call of a user): a repeat costs one comparison instead of a
 * parse. Kept no longer than the applied authentication itself, which holds the same value.
 */
const authorizedUrls = new WeakMap<AppliedAuth, { text: string; url: URL; client: UpstreamClient }>();

function authorizedUrl(client: UpstreamClient, applied: AppliedAuth, text: string): URL {
  const memo = authorizedUrls.get(applied);
  if (memo !== undefined && memo.client === client && memo.text === text) return memo.url;
  const url = client.parseUrl(text);
  authorizedUrls.set(applied, { text, url, client });
  return url;
}

/** The request headers as sent (and as the cache sees them): lower-case names. */
export function headerObject(request: AuthorizedRequest, body: OutgoingBody, conditional?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [k, v] of request.headers) h[k.toLowerCase()] = v;
  if (body.contentType !== undefined) h['content-type'] = body.contentType;
  if (conditional !== undefined) for (const k in conditional) h[k.toLowerCase()] = conditional[k]!;
  return h;
}
