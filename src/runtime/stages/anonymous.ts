import type { SessionUser } from '../../auth/session.js';
import type { CompiledConnector } from '../../registry/compile.js';
import { RuntimeError } from '../errors.js';

/** Stage `anonymous` (docs/design.md#anonymous-callers): a connector whose url/headers/query/auth read `user.*` needs a user. */
export function requireUserIfNeeded(input: { connector: CompiledConnector; user: SessionUser | undefined }): void {
  if (input.connector.needsUser && input.user === undefined) {
    throw new RuntimeError(401, 'AUTHENTICATION_REQUIRED', 'this connector uses the signed-in user; send "Authorization: Bearer <session JWT>"');
  }
}
