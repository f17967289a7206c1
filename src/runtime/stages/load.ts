import type { ExecContext } from '../context.js';
import { RuntimeError } from '../errors.js';

/** Stage 1: the compiled connector from the in-memory registry view (compiled at activation). */
export async function loadConnector(ctx: ExecContext): Promise<void> {
  if (ctx.compiled !== undefined) return; // Test Connection of an unsaved connector brings its own
  const entry = ctx.tenant === undefined ? undefined : await ctx.deps.connectors.get(ctx.tenantId, ctx.permalink);
  if (entry === undefined || entry.compiled.kind !== 'connector') {
    throw new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no connector "${ctx.permalink}" in this tenant`);
  }
  ctx.stored = entry.stored;
  ctx.compiled = entry.compiled;
}
