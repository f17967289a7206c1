import type { ExecContext } from '../context.js';
import { RuntimeError } from '../errors.js';

/** Stage 2: the caller's method must be the connector's (docs/runtime.md#endpoints). */
export function checkMethod(ctx: ExecContext): void {
  const expected = ctx.compiled!.method;
  if (ctx.caller.method !== expected) {
    throw new RuntimeError(405, 'METHOD_NOT_ALLOWED', `this connector is called with ${expected}, not ${ctx.caller.method}`).withHeaders({ allow: expected });
  }
}
