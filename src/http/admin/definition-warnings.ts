import { responseJsonWarnings } from '../../registry/response-json.js';
import type { Services } from '../../services.js';
import { inFileOrder, templateReferences, unknownNameWarnings } from '../../sync/warnings.js';

/**
 * The warnings of one connector or composite as sent to the admin API (manual save, Test
 * Connection): names of secrets and variables the tenant does not have, and a JSON-typed
 * response template that renders no JSON on a sample. Positions are in `text`, the definition as
 * sent (Code Mode text), or its JSON with two-space indentation when it was sent as an object or
 * is a saved one. Warnings never block a save or a test.
 */

export interface DefinitionWarning {
  /** JSON pointer in the definition (`/response_body`), or '' when only the position is known. */
  path: string;
  line: number;
  column: number;
  message: string;
}

export const warningsSchema = {
  type: 'array',
  description: 'Problems that do not block saving or running it, with their position (docs/sync.md#warnings)',
  items: {
    type: 'object',
    required: ['path', 'line', 'column', 'message'],
    properties: { path: { type: 'string' }, line: { type: 'integer' }, column: { type: 'integer' }, message: { type: 'string' } },
  },
} as const;

/** The text warnings are positioned in: the Code Mode text as sent, else the definition's JSON. */
export function definitionText(definition: unknown): string {
  return typeof definition === 'string' ? definition : JSON.stringify(definition, null, 2);
}

export async function definitionWarnings(services: Services, tenant: string, text: string, kind: 'connector' | 'composite'): Promise<DefinitionWarning[]> {
  const references = templateReferences(text);
  const names = references.length === 0 ? [] : unknownNameWarnings(references, await services.secrets.names(tenant), tenant);
  return inFileOrder([...responseJsonWarnings(text, kind), ...names]).map((w) => ({ path: w.path, line: w.line, column: w.column, message: w.message }));
}
