import { expect } from 'vitest';
import type { ValidationIssue } from '../../src/registry/model.js';
import { validateRegistryText, type ValidationOptions } from '../../src/registry/validate.js';

export const STRICT: ValidationOptions = { allowHttp: false, allowCidrs: [] };

/**
 * 1-based line/column of the `nth` occurrence of `needle` in `text` (plus `offset` characters):
 * positions in assertions are found independently of the validator, by plain search.
 */
export function at(text: string, needle: string, nth = 0, offset = 0): { line: number; column: number } {
  let index = -1;
  for (let i = 0; i <= nth; i++) {
    index = text.indexOf(needle, index + 1);
    if (index === -1) throw new Error(`"${needle}" (occurrence ${nth}) not in text`);
  }
  index += offset;
  const before = text.slice(0, index);
  const line = before.split('\n').length;
  return { line, column: index - (before.lastIndexOf('\n') + 1) + 1 };
}

/** A registry file with one JSON value per line for readable positions. */
export function registry(connectors: unknown[], composites?: unknown[]): string {
  const body: Record<string, unknown> = { connectors };
  if (composites !== undefined) body.composite_connectors = composites;
  return JSON.stringify(body, null, 2);
}

export function connector(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'Example', url: 'https://api.example.com/v1/items', ...extra };
}

export function errorsOf(text: string, options: ValidationOptions = STRICT): ValidationIssue[] {
  const result = validateRegistryText(text, options);
  if (result.ok) throw new Error('expected validation errors, got a valid file');
  return result.errors;
}

export function expectValid(text: string, options: ValidationOptions = STRICT): void {
  const result = validateRegistryText(text, options);
  expect(result.ok ? [] : result.errors).toEqual([]);
}

/** Exactly one error, at `path`, at the given position, with a message matching `message`. */
export function expectOnly(text: string, path: string, position: { line: number; column: number }, message: RegExp, options: ValidationOptions = STRICT): ValidationIssue {
  const errors = errorsOf(text, options);
  expect(errors.map((e) => ({ path: e.path, line: e.line, column: e.column }))).toEqual([{ path, ...position }]);
  expect(errors[0]!.message).toMatch(message);
  return errors[0]!;
}
