import type { SessionUser } from '../../auth/session.js';
import type { Call, RuntimeTenant } from '../context.js';
import { RuntimeError } from '../errors.js';

/**
 * Stage `user-rate-limit` (an extension of the tenant limit, docs/design.md#rate-limits): once the session is verified, a signed-in user over the
 * tenant's `rate_limit_per_user_per_minute` gets 429 `RATE_LIMITED` with `Retry-After`, before any
 * secret is read or upstream called. Anonymous callers (and users without `sub`) count only toward
 * the tenant limit: an address-based limit would lump together every caller behind one proxy.
 * Test Connection is the operator's tool and is not limited. Returns undefined when there is
 * nothing to check, so the common case costs the request path no promise.
 */
export function checkUserRateLimit(input: Pick<Call, 'deps' | 'tenantId' | 'test'> & { tenant: RuntimeTenant | undefined; user: SessionUser | undefined }): Promise<void> | undefined {
  const perMinute = input.tenant?.rate_limit_per_user_per_minute;
  if (perMinute === undefined || input.test !== undefined) return undefined;
  const id = input.user?.id;
  if (id === null || id === undefined || id === '') return undefined;
  return input.deps.rateLimiter.checkUser(input.tenantId, String(id), perMinute).then((retryAfter) => {
    if (retryAfter !== undefined) {
      throw new RuntimeError(429, 'RATE_LIMITED', `this user is over the limit of ${perMinute} executions per minute per user`).withHeaders({ 'retry-after': String(retryAfter) });
    }
  });
}
