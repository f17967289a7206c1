import type { SyncError } from './model.js';

/**
 * Warnings: problems that never block activation (the file's own, such as a JSON-typed response
 * template that renders no JSON, come from src/registry/response-json.ts). A template that names a secret or variable
 * the linked tenant does not have renders the expression text as is at run time (it is sent
 * upstream literally), so every `get_secret('…')` / `get_variable('…')` of a file is checked
 * against each linked tenant's names and reported with its position.
 */

export interface TemplateReference {
  kind: 'secret' | 'variable';
  name: string;
  line: number;
  column: number;
}

// The call as it appears inside a JSON string: quotes around the name may be escaped (\").
const CALL = /get_(secret|variable)\s*\(\s*(\\?["'])([A-Za-z_][A-Za-z0-9_]*)\2\s*\)/g;

/** Every literal secret / variable reference in the file's text, with its 1-based position. */
export function templateReferences(text: string): TemplateReference[] {
  const refs: TemplateReference[] = [];
  let line = 1;
  let lineStart = 0;
  let scanned = 0;
  for (const m of text.matchAll(CALL)) {
    for (let i = text.indexOf('\n', scanned); i !== -1 && i < m.index; i = text.indexOf('\n', i + 1)) {
      line++;
      lineStart = i + 1;
    }
    scanned = m.index;
    refs.push({ kind: m[1] as 'secret' | 'variable', name: m[3]!, line, column: m.index - lineStart + 1 });
  }
  return refs;
}

export function unknownNameWarnings(refs: TemplateReference[], names: { secret: Set<string>; variable: Set<string> }, tenant: string): SyncError[] {
  const warnings: SyncError[] = [];
  for (const r of refs) {
    if (names[r.kind].has(r.name)) continue;
    const other = r.kind === 'secret' ? 'variable' : 'secret';
    const hint = names[other].has(r.name) ? ` ("${r.name}" is a ${other}: use get_${other}('${r.name}'))` : '';
    warnings.push({
      path: '',
      line: r.line,
      column: r.column,
      message: `get_${r.kind}('${r.name}'): tenant "${tenant}" has no ${r.kind} "${r.name}"${hint}; until it exists the template sends the expression text as is (create the ${r.kind}, or fix the name)`,
    });
  }
  return warnings;
}

/** Warnings sorted by position (a stable sort: equal positions keep their order). */
export function inFileOrder(warnings: SyncError[]): SyncError[] {
  return [...warnings].sort((a, b) => a.line - b.line || a.column - b.column);
}
