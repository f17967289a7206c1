import { applyApiKey, type AppliedAuth, type ResolvedAuth } from '../../auth/outbound.js';
import type { ClaimValue, CompiledAuth, CompiledRequest } from '../../registry/compile.js';
import type { AuthorizedRequest, Call, RenderedRequest, RuntimeTenant, TemplateValues } from '../context.js';
import type { UpstreamClient } from '../../upstream/client.js';
import { authorize } from '../outgoing.js';
import { renderEither, renderTemplate, type TemplateRun } from '../render-template.js';
import { NO_AUTH, requestPlan, type BoundAuth, type FixedRequest } from '../request-plan.js';

/**
 * Stage `outbound-auth`: renders the authentication config and applies it (docs/design.md). Token
 * requests are upstream time (`external_ms`); signing a JWT is not. The strategy comes bound from
 * the request's plan: no authentication and an API key cost no promise.
 */
export function applyAuth(
  input: Pick<Call, 'deps' | 'tenantId' | 'now' | 'timing' | 'trace'> & { tenant: RuntimeTenant | undefined; spec: CompiledRequest; fixed: FixedRequest | undefined; rendered: RenderedRequest; vars: Record<string, unknown>; templates: TemplateRun },
): AuthorizedRequest | Promise<AuthorizedRequest> {
  if (input.fixed !== undefined) return input.fixed.authorized;
  const { rendered, templates } = input;
  const auth = requestPlan(input.spec).auth;
  const client = input.deps.upstream;
  if (auth.type === 'none') return authorizeOnce(client, rendered, templates.values, NO_AUTH, undefined);
  if (auth.type === 'api_key') {
    const withKey = (value: string) => {
      const key = apiKey(auth, value, templates.values);
      return authorizeOnce(client, rendered, templates.values, key.resolved, key.applied);
    };
    const value = renderEither(templates, auth.value, input.vars, 'authentication value');
    return typeof value === 'string' ? withKey(value) : value.then(withKey);
  }
  return applyRendered(input, auth.auth);
}

/**
 * `authorize`, made once for a request its caller repeats (src/runtime/repeated-request.ts): the
 * kept request was rendered with these values, so the same applied authentication (an API key is
 * applied once per value and set of values) and client give the same authorized request.
 */
function authorizeOnce(client: UpstreamClient, rendered: RenderedRequest, values: TemplateValues, resolved: ResolvedAuth, applied: AppliedAuth | undefined): AuthorizedRequest {
  const repeated = rendered.repeated;
  if (repeated === undefined) return authorize(client, rendered, values, resolved, applied);
  const held = repeated.authorized;
  if (held !== undefined && held.applied === applied && repeated.client === client) return held.request;
  const request = authorize(client, rendered, values, resolved, applied);
  if (repeated.client === client) repeated.authorized = { applied, request };
  return request;
}

interface AppliedKey {
  value: string;
  resolved: ResolvedAuth;
  applied: AppliedAuth;
}

/**
 * The applied API key, its credential digest hashed once per value: kept per bound strategy and per
 * set of secret values (a secret change brings a new set, and the old one goes with its values).
 */
const appliedKeys = new WeakMap<BoundAuth, WeakMap<TemplateValues, AppliedKey>>();

function apiKey(auth: Extract<BoundAuth, { type: 'api_key' }>, value: string, values: TemplateValues): AppliedKey {
  let byValues = appliedKeys.get(auth);
  if (byValues === undefined) appliedKeys.set(auth, (byValues = new WeakMap()));
  const held = byValues.get(values);
  if (held !== undefined && held.value === value) return held;
  const resolved = { type: 'api_key' as const, key: auth.key, value, in: auth.in };
  const key: AppliedKey = { value, resolved, applied: applyApiKey(resolved) };
  byValues.set(values, key);
  return key;
}

async function applyRendered(
  input: Pick<Call, 'deps' | 'tenantId' | 'now' | 'timing' | 'trace'> & { tenant: RuntimeTenant | undefined; rendered: RenderedRequest; vars: Record<string, unknown>; templates: TemplateRun },
  auth: Exclude<CompiledAuth, { type: 'none' | 'api_key' }>,
): Promise<AuthorizedRequest> {
  const { rendered, templates } = input;
  const resolved = await renderAuth(templates, auth, input.vars);
  // A token request is a client span under this stage (when traced).
  const outbound = input.trace?.outbound(input.tenant?.trace_propagation !== false);
  const run = () => input.deps.auth.apply(input.tenantId, resolved, input.now, outbound);
  const applied = resolved.type === 'oauth_client_credentials' || resolved.type === 'oauth_jwt_bearer' ? await input.timing.measure('http', run) : await run();
  return authorize(input.deps.upstream, rendered, templates.values, resolved, applied);
}

async function renderClaims(run: TemplateRun, claims: [string, ClaimValue][], vars: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of claims) out[k] = 'template' in v ? await renderTemplate(run, v.template, vars, `authentication claim ${k}`) : v.literal;
  return out;
}

async function renderAuth(run: TemplateRun, auth: Exclude<CompiledAuth, { type: 'none' | 'api_key' }>, vars: Record<string, unknown>): Promise<ResolvedAuth> {
  const r = (t: Parameters<typeof renderTemplate>[1], field: string) => renderTemplate(run, t, vars, `authentication ${field}`);
  switch (auth.type) {
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
        claims: await renderClaims(run, auth.claims, vars),
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
        additional_claims: await renderClaims(run, auth.additional_claims, vars),
        jwt_headers: auth.jwt_headers,
      };
  }
}
