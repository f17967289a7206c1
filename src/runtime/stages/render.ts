import type { ClaimValue, CompiledAuth, CompiledParam, CompiledRequest } from '../../registry/compile.js';
import type { ResolvedAuth } from '../../auth/outbound.js';
import type { Authentication } from '../../registry/model.js';
import type { DebugRecord, ExecContext, OutgoingRequest } from '../context.js';
import { RuntimeError, SCOPE } from '../errors.js';
import { renderTemplate, renderTemplateSync } from '../render.js';
import type { MergePlan } from './merge.js';

const MASK = '**********';

/** RFC 3986 unreserved stay as they are; everything else in keys and values is percent-encoded (docs/registry.md#parameters-and-headers). */
export function encodeQuery(pairs: [string, string][]): string {
  let out = '';
  for (let i = 0; i < pairs.length; i++) {
    const [k, v] = pairs[i]!;
    out += `${i === 0 ? '' : '&'}${encode(k)}=${encode(v)}`;
  }
  return out;
}

/** Exactly what encodeURIComponent leaves alone. */
const UNESCAPED = /^[A-Za-z0-9\-_.!~*'()]*$/;

/** encodeURIComponent, without its call into the runtime for the common values that need no escaping. */
function encode(text: string): string {
  return UNESCAPED.test(text) ? text : encodeURIComponent(text);
}

export function joinUrl(base: string, pairs: [string, string][]): string {
  if (pairs.length === 0) return base;
  const hash = base.indexOf('#');
  const head = hash === -1 ? base : base.slice(0, hash);
  const sep = head.includes('?') ? (head.endsWith('?') || head.endsWith('&') ? '' : '&') : '?';
  return `${head}${sep}${encodeQuery(pairs)}`;
}

function checkHeaderValue(name: string, value: string): void {
  if (/[\r\n\0]/.test(value)) {
    throw new RuntimeError(422, 'TEMPLATE_ERROR', `header ${name}: the rendered value contains a line break or NUL`, SCOPE.template);
  }
}

/** Test Connection's debug record before anything is rendered: the configuration's view, masked. */
export function emptyDebugRecord(ctx: ExecContext, spec: CompiledRequest): DebugRecord {
  return {
    url: null,
    method: spec.method,
    headers: {},
    query_parameters: {},
    authentication: maskAuth(spec.authDefinition),
    request_body: null,
    response_body: spec.responseBody?.source ?? null,
    response_content_type: spec.responseContentType ?? null,
    ignored_overrides: ctx.ignored,
  };
}

/**
 * Stage 8: renders the url, header and query templates and the auth config (secrets and variables
 * are resolved by now). Builds Test Connection's debug view on the way: fields that use
 * `get_secret` show their template text, credential auth fields are masked (docs/runtime.md#test-connection).
 */
export async function renderRequest(ctx: ExecContext, spec: CompiledRequest, plan: MergePlan, vars: Record<string, unknown>, scope: string = SCOPE.template): Promise<OutgoingRequest> {
  ctx.timing.endSetup();
  const debug = ctx.test === undefined ? undefined : emptyDebugRecord(ctx, spec);
  const out: OutgoingRequest = {
    spec,
    baseUrl: '',
    url: undefined,
    query: [],
    headers: [],
    body: undefined,
    resolvedAuth: undefined,
    appliedAuth: undefined,
    sensitive: ctx.secrets.size === 0 ? [] : [...ctx.secrets.values()],
    credentialMaterial: [],
    debug,
  };
  // Only jwt_encode() makes a template asynchronous; every other value renders without a promise.
  const one = (p: CompiledParam, what: string): string | Promise<string> =>
    p.template.usesAsync ? renderTemplate(ctx, p.template, vars, `${what} ${p.key}`, scope) : renderTemplateSync(ctx, p.template, vars, `${what} ${p.key}`, scope);

  const rawUrl = spec.url.usesAsync ? await renderTemplate(ctx, spec.url, vars, 'url', scope) : renderTemplateSync(ctx, spec.url, vars, 'url', scope);
  for (const q of plan.query) {
    let value: string;
    if ('literal' in q) value = q.literal;
    else {
      const v = one(q.param, 'query parameter');
      value = typeof v === 'string' ? v : await v;
      if (q.param.usesSecret || q.param.template.referencesUser) out.credentialMaterial.push(`q:${q.key}=${value}`);
    }
    out.query.push([q.key, value]);
    if (debug !== undefined) debug.query_parameters[q.key] = 'param' in q && q.param.usesSecret ? q.param.template.source : value;
  }
  for (const h of plan.headers) {
    let value: string;
    if ('literal' in h) value = h.literal;
    else {
      const v = one(h.param, 'header');
      value = typeof v === 'string' ? v : await v;
      // Any templated header value (user, secret, variable, time) is part of the cache key: two users
      // whose requests differ only in such a header must never share an entry (docs/design.md#http-cache).
      if (!h.param.template.isLiteral) out.credentialMaterial.push(`h:${h.param.lower}=${value}`);
    }
    checkHeaderValue(h.key, value);
    out.headers.push([h.key, value]);
    if (debug !== undefined) debug.headers[h.key] = 'param' in h && h.param.usesSecret ? h.param.template.source : value;
  }
  // Test Connection's view of the URL: secret-using query values appear as their template text.
  if (debug !== undefined) debug.url = joinUrl(rawUrl, out.query.map(([k, v]) => [k, debug.query_parameters[k] === v ? v : debug.query_parameters[k]!]));
  out.baseUrl = rawUrl;
  out.url = upstreamUrl(ctx, spec, rawUrl, out.query);
  out.resolvedAuth = spec.auth.type === 'none' ? NO_AUTH : await renderAuth(ctx, spec.auth, vars, scope);
  return out;
}

const NO_AUTH: ResolvedAuth = Object.freeze({ type: 'none' });

/**
 * The parsed upstream URL. Most requests of a connector resolve to the same URL, so each compiled
 * request remembers its last one by its parts (rendered base, query pairs): a repeat costs a few
 * comparisons instead of encoding, joining and parsing (a noticeable share of a cache hit). URLs
 * built with a secret are never remembered: secret values live only as long as their request.
 */
function upstreamUrl(ctx: ExecContext, spec: CompiledRequest, base: string, query: [string, string][]): URL {
  const client = ctx.deps.upstream;
  const memo = spec.lastUrl;
  if (memo !== undefined && memo.client === client && memo.base === base && samePairs(memo.query, query)) return memo.url;
  const url = client.parseUrl(joinUrl(base, query));
  if (!spec.urlUsesSecret) spec.lastUrl = { base, query: query.map(([k, v]) => [k, v]), url, client };
  return url;
}

function samePairs(a: readonly (readonly [string, string])[], b: readonly (readonly [string, string])[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i]![0] !== b[i]![0] || a[i]![1] !== b[i]![1]) return false;
  }
  return true;
}

async function renderClaims(ctx: ExecContext, claims: [string, ClaimValue][], vars: Record<string, unknown>, scope: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of claims) out[k] = 'template' in v ? await renderTemplate(ctx, v.template, vars, `authentication claim ${k}`, scope) : v.literal;
  return out;
}

async function renderAuth(ctx: ExecContext, auth: CompiledAuth, vars: Record<string, unknown>, scope: string): Promise<ResolvedAuth> {
  const r = (t: Parameters<typeof renderTemplate>[1], field: string) => renderTemplate(ctx, t, vars, `authentication ${field}`, scope);
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'api_key':
      return { type: 'api_key', key: auth.key, value: await r(auth.value, 'value'), in: auth.in };
    case 'oauth_client_credentials':
      return {
        type: 'oauth_client_credentials',
        client_id: await r(auth.client_id, 'client_id'),
        client_secret: await r(auth.client_secret, 'client_secret'),
        token_url: await r(auth.token_url, 'token_url'),
        scope: auth.scope === undefined ? undefined : await r(auth.scope, 'scope'),
      };
    case 'jwt':
      return {
        type: 'jwt',
        private_key: await r(auth.private_key, 'private_key'),
        algorithm: auth.algorithm,
        claims: await renderClaims(ctx, auth.claims, vars, scope),
        jwt_headers: auth.jwt_headers,
      };
    case 'oauth_jwt_bearer':
      return {
        type: 'oauth_jwt_bearer',
        client_id: await r(auth.client_id, 'client_id'),
        private_key: await r(auth.private_key, 'private_key'),
        token_url: await r(auth.token_url, 'token_url'),
        subject: await r(auth.subject, 'subject'),
        audience: await r(auth.audience, 'audience'),
        token_ttl: auth.token_ttl,
        algorithm: auth.algorithm,
        additional_claims: await renderClaims(ctx, auth.additional_claims, vars, scope),
        jwt_headers: auth.jwt_headers,
      };
  }
}

/**
 * The authentication block of `X-Debug-Request`: built from the definition, never from resolved
 * values. Credential fields are masked; other fields are shown as configured (a secret reference
 * stays its template text, so no secret value can appear).
 */
export function maskAuth(auth: Authentication): unknown {
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'api_key':
      return { type: 'api_key', config: { key: auth.config.key, value: MASK, in: auth.config.in } };
    case 'oauth_client_credentials':
      return {
        type: 'oauth_client_credentials',
        config: { client_id: auth.config.client_id, client_secret: MASK, token_url: auth.config.token_url, ...(auth.config.scope ? { scope: auth.config.scope } : {}) },
      };
    case 'jwt':
      return {
        type: 'jwt',
        config: { private_key: MASK, algorithm: auth.config.algorithm ?? 'RS256', claims: MASK, ...(auth.config.jwt_headers ? { jwt_headers: auth.config.jwt_headers } : {}) },
      };
    case 'oauth_jwt_bearer':
      return {
        type: 'oauth_jwt_bearer',
        config: {
          client_id: auth.config.client_id,
          private_key: MASK,
          token_url: auth.config.token_url,
          subject: auth.config.subject,
          audience: auth.config.audience,
          token_ttl: auth.config.token_ttl ?? 3600,
          algorithm: auth.config.algorithm ?? 'RS256',
          ...(auth.config.additional_claims ? { additional_claims: MASK } : {}),
          ...(auth.config.jwt_headers ? { jwt_headers: auth.config.jwt_headers } : {}),
        },
      };
  }
}
