import { JwtSigningError, profileFields, TemplateError, type CompiledTemplate, type RenderContext } from '../templates/index.js';
import type { SessionUser } from '../auth/session.js';
import type { ExecContext } from './context.js';
import { RuntimeError, SCOPE } from './errors.js';

/** `user` as templates see it: every field None for anonymous callers (docs/runtime.md). */
export function templateUser(user: SessionUser | undefined): Record<string, unknown> {
  if (user === undefined) return ANONYMOUS;
  return {
    id: user?.id ?? null,
    email: user?.email ?? null,
    first_name: user?.first_name ?? null,
    last_name: user?.last_name ?? null,
    username: user?.username ?? null,
    profile_fields: profileFields(user?.profile_fields ?? {}),
  };
}

/**
 * The anonymous `user`, built once: a template that mutates its context works on private copies
 * (src/templates/mutation.ts), so every anonymous request can share it.
 */
const ANONYMOUS: Record<string, unknown> = Object.freeze({
  id: null,
  email: null,
  first_name: null,
  last_name: null,
  username: null,
  profile_fields: profileFields({}),
});

/** Variables every field sees: `user.*`, `tenant_id` (docs/design.md#tenant_id-in-templates), `pathParams`. */
export function baseVars(ctx: ExecContext): Record<string, unknown> {
  return { user: templateUser(ctx.user), tenant_id: ctx.tenantId, pathParams: ctx.pathParams };
}

/** Never let a secret value reach an error detail, whatever a template error message quotes. */
export function scrub(text: string, ctx: ExecContext): string {
  let out = text;
  for (const v of ctx.secrets.values()) {
    if (v.length < 3) continue;
    out = out.split(v).join('**********');
    // A secret sent in a query string appears percent-encoded in URLs quoted by errors.
    const encoded = encodeURIComponent(v);
    if (encoded !== v) out = out.split(encoded).join('**********');
  }
  return out;
}

/**
 * Renders one compiled template. Caller values never come here: they are data (docs/design.md#caller-input-is-data).
 * A TemplateError becomes 422 TEMPLATE_ERROR with the given scope.
 */
export async function renderTemplate(
  ctx: ExecContext,
  template: CompiledTemplate,
  vars: Record<string, unknown>,
  where: string,
  scope: string = SCOPE.template,
): Promise<string> {
  if (!template.usesAsync) return renderTemplateSync(ctx, template, vars, where, scope);
  const t0 = performance.now();
  try {
    return await template.renderAsync(renderContext(ctx, vars));
  } catch (err) {
    throw templateFailure(ctx, err, where, scope);
  } finally {
    ctx.timing.add('transform', performance.now() - t0);
  }
}

/**
 * The same for templates that do not sign JWTs (`usesAsync` false, nearly all of them): no promise,
 * so the request path does not pay a microtask per header or query value. Literal templates cost
 * nothing at all.
 */
export function renderTemplateSync(
  ctx: ExecContext,
  template: CompiledTemplate,
  vars: Record<string, unknown>,
  where: string,
  scope: string = SCOPE.template,
): string {
  if (template.isLiteral) return template.source;
  const t0 = performance.now();
  try {
    return template.render(renderContext(ctx, vars));
  } catch (err) {
    throw templateFailure(ctx, err, where, scope);
  } finally {
    ctx.timing.add('transform', performance.now() - t0);
  }
}

function renderContext(ctx: ExecContext, vars: Record<string, unknown>): RenderContext {
  return { vars, secrets: ctx.secrets, variables: ctx.variables, now: ctx.now };
}

function templateFailure(ctx: ExecContext, err: unknown, where: string, scope: string): unknown {
  // jwt_encode() that cannot sign is a signing failure (docs/runtime.md), wherever the call sits.
  if (err instanceof JwtSigningError) {
    const prefix = scope.endsWith(SCOPE.template) ? scope.slice(0, -SCOPE.template.length) : '';
    return new RuntimeError(422, 'JWT_SIGNING_FAILED', scrub(`${where}: ${err.message}`, ctx).slice(0, 500), `${prefix}${SCOPE.jwtSigning}`);
  }
  if (err instanceof TemplateError) {
    const pos = err.line > 0 ? ` (line ${err.line}, column ${err.column})` : '';
    return new RuntimeError(422, 'TEMPLATE_ERROR', scrub(`${where}: ${err.message}${pos}`, ctx).slice(0, 500), scope);
  }
  return err;
}
