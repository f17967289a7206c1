import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bytesValue, compileTemplate, profileFields, TemplateError, type TemplateField } from '../../src/templates/index.js';

/** Loads test/templates/golden/expected.json (written by render_golden.py with real Jinja2) and replays it. */

export interface GoldenCase {
  id: string;
  template: string;
  context?: Record<string, unknown>;
  field?: TemplateField;
  now?: number;
  secrets?: Record<string, string>;
  variables?: Record<string, string>;
  bytes?: Record<string, string>;
  expected: { output: string } | { error: string; message: string };
}

export function loadGolden(): { jinja2: string; cases: GoldenCase[] } {
  const path = fileURLToPath(new URL('./golden/expected.json', import.meta.url));
  return JSON.parse(readFileSync(path, 'utf8'));
}

export type Outcome =
  | { ok: true; output: string }
  | { ok: false; error: unknown };

export async function replay(c: GoldenCase): Promise<Outcome> {
  const vars: Record<string, unknown> = structuredClone(c.context ?? {});
  const user = vars.user as Record<string, unknown> | undefined;
  if (user && typeof user === 'object' && 'profile_fields' in user) {
    user.profile_fields = profileFields((user.profile_fields ?? {}) as Record<string, unknown>);
  }
  for (const [k, text] of Object.entries(c.bytes ?? {})) vars[k] = bytesValue(Buffer.from(text, 'utf8'));
  try {
    const t = compileTemplate(c.template, c.field ?? 'response_body');
    const output = await t.renderAsync({
      vars,
      secrets: new Map(Object.entries(c.secrets ?? {})),
      variables: new Map(Object.entries(c.variables ?? {})),
      now: c.now ?? 1700000000,
    });
    return { ok: true, output };
  } catch (error) {
    return { ok: false, error };
  }
}

/** identical: same output, or both failed (Jinja2 raised, we threw a TemplateError). */
export function identical(c: GoldenCase, o: Outcome): boolean {
  if ('output' in c.expected) return o.ok && o.output === c.expected.output;
  return !o.ok && o.error instanceof TemplateError;
}
