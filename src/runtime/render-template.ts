import { JwtSigningError, profileFields, TemplateError, type CompiledTemplate, type RenderContext } from '../templates/index.js';
import type { SessionUser } from '../auth/session.js';
import type { TemplateValues } from './context.js';
import { RuntimeError } from './errors.js';
import { redact } from './redact.js';
import type { Timing } from './timing.js';

/**
 * Renders one compiled template of a connector for one request. Caller values never come here as
 * templates: they are data (docs/design.md#caller-input-is-data). A failure becomes 422 TEMPLATE_ERROR (or JWT_SIGNING_FAILED
 * for a `jwt_encode()` that cannot sign); the pipeline adds where it happened.
 */

/** What every template of one request renders with. */
export interface TemplateRun {
  values: TemplateValues;
  now: number;
  timing: Timing;
}

/**
 * `user` as templates see it, made once per verified session user: a remembered token yields the
 * same user object on every call, and a template that mutates its context works on private copies
 * (src/templates/mutation.ts), so calls of one session share it as anonymous calls share ANONYMOUS.
 */
const templateUsers = new WeakMap<SessionUser, Record<string, unknown>>();

/** `user` as templates see it: every field None for anonymous callers (docs/runtime.md). */
export function templateUser(user: SessionUser | undefined): Record<string, unknown> {
  if (user === undefined) return ANONYMOUS;
  let shown = templateUsers.get(user);
  if (shown === undefined) {
    shown = Object.freeze(userFields(user));
    templateUsers.set(user, shown);
  }
  return shown;
}

function userFields(user: SessionUser): Record<string, unknown> {
  return {
    id: user.id ?? null,
    email: user.email ?? null,
    first_name: user.first_name ?? null,
    last_name: user.last_name ?? null,
    username: user.username ?? null,
    profile_fields: profileFields(user.profile_fields ?? {}),
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

export async function renderTemplate(run: TemplateRun, template: CompiledTemplate, vars: Record<string, unknown>, where: string): Promise<string> {
  if (!template.usesAsync) return renderTemplateSync(run, template, vars, where);
  const t0 = performance.now();
  try {
    return await template.renderAsync(renderContext(run, vars));
  } catch (err) {
    throw templateFailure(run, err, where);
  } finally {
    run.timing.add('transform', performance.now() - t0);
  }
}

/**
 * The same for templates that do not sign JWTs (`usesAsync` false, nearly all of them): no promise,
 * so the request path does not pay a microtask per header or query value. Literal templates cost
 * nothing at all.
 */
export function renderTemplateSync(run: TemplateRun, template: CompiledTemplate, vars: Record<string, unknown>, where: string): string {
  if (template.isLiteral) return template.source;
  const t0 = performance.now();
  try {
    return template.render(renderContext(run, vars));
  } catch (err) {
    throw templateFailure(run, err, where);
  } finally {
    run.timing.add('transform', performance.now() - t0);
  }
}

/** Either of the two: a string when the template renders without a promise. */
export function renderEither(run: TemplateRun, template: CompiledTemplate, vars: Record<string, unknown>, where: string): string | Promise<string> {
  return template.usesAsync ? renderTemplate(run, template, vars, where) : renderTemplateSync(run, template, vars, where);
}

function renderContext(run: TemplateRun, vars: Record<string, unknown>): RenderContext {
  return { vars, secrets: run.values.secrets, variables: run.values.variables, now: run.now };
}

function templateFailure(run: TemplateRun, err: unknown, where: string): unknown {
  // jwt_encode() that cannot sign is a signing failure (docs/runtime.md), wherever the call sits.
  if (err instanceof JwtSigningError) return new RuntimeError(422, 'JWT_SIGNING_FAILED', redact(`${where}: ${err.message}`, run.values.secrets.values()).slice(0, 500));
  if (err instanceof TemplateError) {
    const pos = err.line > 0 ? ` (line ${err.line}, column ${err.column})` : '';
    return new RuntimeError(422, 'TEMPLATE_ERROR', redact(`${where}: ${err.message}${pos}`, run.values.secrets.values()).slice(0, 500));
  }
  return err;
}
