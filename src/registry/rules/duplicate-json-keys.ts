import type { DuplicateKey } from '../json-source.js';
import type { RuleIssue } from './types.js';

/**
 * A key repeated in one JSON object: JSON.parse silently keeps the last one, which hides mistakes
 * (two "url"s, two "headers" lists), so the validator refuses it. Reported at the repeated key.
 */
export function duplicateJsonKeyIssues(duplicates: DuplicateKey[]): RuleIssue[] {
  return duplicates.map((d) => ({
    path: d.path,
    at: d.position,
    message: `duplicate key "${d.key}" in the same object (first at line ${d.first.line}, column ${d.first.column}): remove one of them`,
  }));
}
