import { profileFields, TemplateError, type CompiledTemplate, type RenderContext } from '../templates/index.js';
import type { SessionUser } from '../auth/session.js';
import type { ExecContext } from './context.js';
import { RuntimeError, SCOPE } from './errors.js';

/** `user` as templates see it: every field None for anonymous callers (spec §13). */
export function templateUser(user: SessionUser | undefined): Record<string, unknown> {
  return {
    id: user?.id ?? null,
    email: user?.email ?? null,
    first_name: user?.first_name ?? null,
    last_name: user?.last_name ?? null,
    username: user?.username ?? null,
    profile_fields: profileFields(user?.profile_fields ?? {}),
  };
}

/** Variables every field sees: `user.*`, `tenant_id` (decision 31), `pathParams`. */
export function baseVars(ctx: ExecContext): Record<string, unknown> {
  return { user: templateUser(ctx.user), tenant_id: ctx.tenantId, pathParams: ctx.pathParams };
}

/** Never let a secret value reach an error detail, whatever a template error message quotes. */
export function scrub(text: string, ctx: ExecContext): string {
  let out = text;
  for (const v of ctx.secrets.values()) {
    if (v.length >= 3) out = out.split(v).join('**********');
  }
  return out;
}

/**
 * Renders one compiled template. Caller values never come here: they are data (decision 1).
 * A TemplateError becomes 422 TEMPLATE_ERROR with the given scope.
 */
export async function renderTemplate(
  ctx: ExecContext,
  template: CompiledTemplate,
  vars: Record<string, unknown>,
  where: string,
  scope: string = SCOPE.template,
): Promise<string> {
  if (template.isLiteral) return template.source;
  const rc: RenderContext = { vars, secrets: ctx.secrets, variables: ctx.variables, now: ctx.now };
  const t0 = performance.now();
  try {
    return template.usesAsync ? await template.renderAsync(rc) : template.render(rc);
  } catch (err) {
    if (err instanceof TemplateError) {
      const pos = err.line > 0 ? ` (line ${err.line}, column ${err.column})` : '';
      throw new RuntimeError(422, 'TEMPLATE_ERROR', scrub(`${where}: ${err.message}${pos}`, ctx).slice(0, 500), scope);
    }
    throw err;
  } finally {
    ctx.timing.add('transform', performance.now() - t0);
  }
}
