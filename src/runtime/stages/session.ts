import type { SessionUser } from '../../auth/session.js';
import type { Call, RuntimeTenant } from '../context.js';

/**
 * Stage `session`: `user.*` from the verified session JWT (docs/runtime.md); Test Connection passes its
 * user directly. The browser cannot supply or alter these values (docs/design.md#caller-input-is-data).
 */
export function resolveUser(input: Pick<Call, 'deps' | 'tenantId' | 'caller' | 'test'> & { tenant: RuntimeTenant | undefined }): SessionUser | undefined | Promise<SessionUser | undefined> {
  if (input.test !== undefined) return input.test.user;
  const authorization = input.caller.headers.authorization;
  if (authorization === undefined) return undefined;
  const settings = input.tenant!.session;
  // A token verified before and still acceptable costs no promise and no crypto.
  return input.deps.sessions.remembered(input.tenantId, authorization, settings) ?? input.deps.sessions.verify(input.tenantId, authorization, settings);
}
