import type { CompiledConnector } from '../../registry/compile.js';
import type { Call, TemplateValues } from '../context.js';

/** Most connectors use no secret or variable: their requests share these (never written to). */
export const NO_VALUES: TemplateValues = Object.freeze({ secrets: new Map<string, string>(), variables: new Map<string, string>() });

/** Stage `values`: exactly the secrets and variables the compiled templates name. */
export function resolveValues(input: Pick<Call, 'deps' | 'tenantId'> & { connector: CompiledConnector }): TemplateValues | Promise<TemplateValues> {
  const c = input.connector;
  if (c.secretNames.length === 0 && c.variableNames.length === 0) return NO_VALUES;
  // Values this process holds (src/secrets/memory.ts) cost no promise.
  return input.deps.values.held?.(input.tenantId, c.secretNames, c.variableNames) ?? input.deps.values.resolve(input.tenantId, c.secretNames, c.variableNames);
}
