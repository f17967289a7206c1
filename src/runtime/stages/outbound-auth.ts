import type { ResolvedAuth } from '../../auth/outbound.js';
import type { ClaimValue, CompiledAuth, CompiledRequest } from '../../registry/compile.js';
import type { AuthorizedRequest, Call, RenderedRequest } from '../context.js';
import { authorize } from '../outgoing.js';
import { renderTemplate, type TemplateRun } from '../render-template.js';

const NO_AUTH: ResolvedAuth = Object.freeze({ type: 'none' });

/**
 * Stage `outbound-auth`: renders the authentication config and applies it (docs/design.md). Token
 * requests are upstream time (`external_ms`); signing a JWT is not.
 */
export async function applyAuth(
  input: Pick<Call, 'deps' | 'tenantId' | 'now' | 'timing'> & { spec: CompiledRequest; rendered: RenderedRequest; vars: Record<string, unknown>; templates: TemplateRun },
): Promise<AuthorizedRequest> {
  const { spec, rendered, templates } = input;
  if (spec.auth.type === 'none') return authorize(input.deps.upstream, rendered, templates.values, NO_AUTH, undefined);
  const resolved = await renderAuth(templates, spec.auth, input.vars);
  const run = () => input.deps.auth.apply(input.tenantId, resolved, input.now);
  const applied = resolved.type === 'oauth_client_credentials' || resolved.type === 'oauth_jwt_bearer' ? await input.timing.measure('http', run) : await run();
  return authorize(input.deps.upstream, rendered, templates.values, resolved, applied);
}

async function renderClaims(run: TemplateRun, claims: [string, ClaimValue][], vars: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of claims) out[k] = 'template' in v ? await renderTemplate(run, v.template, vars, `authentication claim ${k}`) : v.literal;
  return out;
}

async function renderAuth(run: TemplateRun, auth: Exclude<CompiledAuth, { type: 'none' }>, vars: Record<string, unknown>): Promise<ResolvedAuth> {
  const r = (t: Parameters<typeof renderTemplate>[1], field: string) => renderTemplate(run, t, vars, `authentication ${field}`);
  switch (auth.type) {
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
