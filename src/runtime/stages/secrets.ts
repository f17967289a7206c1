import type { ExecContext } from '../context.js';

/** Stage 7: exactly the secrets and variables the compiled templates name, in one round trip. */
export async function resolveValues(ctx: ExecContext, secretNames: readonly string[], variableNames: readonly string[]): Promise<void> {
  if (secretNames.length === 0 && variableNames.length === 0) return;
  const { secrets, variables } = await ctx.deps.values.resolve(ctx.tenantId, secretNames, variableNames);
  ctx.secrets = secrets;
  ctx.variables = variables;
}
