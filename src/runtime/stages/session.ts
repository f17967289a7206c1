import type { ExecContext } from '../context.js';

/**
 * Stage 5: `user.*` from the verified session JWT (docs/runtime.md); Test Connection passes its user
 * directly. The browser cannot supply or alter these values (docs/design.md#caller-input-is-data).
 */
export async function resolveUser(ctx: ExecContext): Promise<void> {
  if (ctx.test !== undefined) {
    ctx.user = ctx.test.user;
    return;
  }
  const auth = ctx.caller.headers.authorization;
  ctx.user = await ctx.deps.sessions.verify(ctx.tenantId, auth, ctx.tenant!.session);
}
