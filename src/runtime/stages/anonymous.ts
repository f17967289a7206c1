import type { ExecContext } from '../context.js';
import { RuntimeError } from '../errors.js';

/** Stage 6 (docs/design.md#anonymous-callers): a connector whose url/headers/query/auth read `user.*` needs a user. */
export function requireUserIfNeeded(ctx: ExecContext, needsUser: boolean): void {
  if (needsUser && ctx.user === undefined) {
    throw new RuntimeError(401, 'AUTHENTICATION_REQUIRED', 'this connector uses the signed-in user; send "Authorization: Bearer <session JWT>"');
  }
}
