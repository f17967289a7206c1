import { TEMPLATE_FIELDS, type TemplateField } from './analyze.js';
import { bytesValue, compileTemplate, profileFields } from './index.js';

/**
 * Rendering one template from plain JSON, shared by `gatehouse render` and
 * `POST /admin/v1/templates/render`. The context's keys become template variables. Two values plain
 * JSON cannot express are converted: `user.profile_fields` (an object keyed by field id) gets
 * `.by_id(n)`, and a string `body_raw` / `request.body_raw` becomes bytes (renders `b'…'`).
 * There is no secret store here: get_secret()/get_variable() leave their literal expression, as for
 * an unknown name at run time (docs/design.md#autoescape-and-unknown-names). `now()` is the current time.
 */

export const DEFAULT_RENDER_FIELD: TemplateField = 'response_body';

export function isTemplateField(value: string): value is TemplateField {
  return (TEMPLATE_FIELDS as readonly string[]).includes(value);
}

export function contextFromJson(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('the context must be a JSON object whose keys are the template variables');
  }
  const vars: Record<string, unknown> = { ...(value as Record<string, unknown>) };
  const user = vars.user;
  if (user !== null && typeof user === 'object' && !Array.isArray(user)) {
    const u = { ...(user as Record<string, unknown>) };
    const fields = u.profile_fields;
    if (fields !== null && typeof fields === 'object' && !Array.isArray(fields)) u.profile_fields = profileFields(fields as Record<string, unknown>);
    vars.user = u;
  }
  if (typeof vars.body_raw === 'string') vars.body_raw = bytesValue(Buffer.from(vars.body_raw, 'utf8'));
  const request = vars.request;
  if (request !== null && typeof request === 'object' && !Array.isArray(request) && typeof (request as Record<string, unknown>).body_raw === 'string') {
    vars.request = { ...(request as Record<string, unknown>), body_raw: bytesValue(Buffer.from((request as Record<string, string>).body_raw!, 'utf8')) };
  }
  return vars;
}

/** Compiles for `field` and renders; throws TemplateError (or TypeError for a bad context). */
export async function renderWithContext(template: string, context: unknown, field: TemplateField = DEFAULT_RENDER_FIELD): Promise<string> {
  const compiled = compileTemplate(template, field);
  return compiled.renderAsync({ vars: contextFromJson(context) });
}
