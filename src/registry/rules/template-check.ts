import { compileTemplate, TemplateError, type TemplateField } from '../../templates/index.js';

/**
 * The validator's view of the template engine (src/templates): compile one template for one field
 * and say whether it is valid there — Jinja2 syntax and the availability matrix of docs/templates.md#fields-escaping-and-what-is-available
 * (docs/design.md#templates-are-checked-when-saved) — and which secrets and variables it names. Compilation is memoised by the engine,
 * so the runtime's later compile of the same (field, source) is free.
 */

export type { TemplateField };

export type TemplateCheck =
  | { ok: true; secretNames: readonly string[]; variableNames: readonly string[] }
  | { ok: false; kind: 'syntax' | 'availability' | 'runtime' | 'limit'; message: string; line: number; column: number };

export function checkTemplate(source: string, field: TemplateField): TemplateCheck {
  try {
    const compiled = compileTemplate(source, field);
    return { ok: true, secretNames: compiled.secretNames, variableNames: compiled.variableNames };
  } catch (err) {
    if (err instanceof TemplateError) {
      return { ok: false, kind: err.kind, message: err.message, line: Math.max(err.line, 1), column: Math.max(err.column, 1) };
    }
    // An engine failure on odd input is still this field's problem, never a crash of the whole validation.
    return { ok: false, kind: 'syntax', message: err instanceof Error ? err.message : String(err), line: 1, column: 1 };
  }
}
