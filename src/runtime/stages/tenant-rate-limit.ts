import type { Call, RuntimeTenant } from '../context.js';
import { RuntimeError } from '../errors.js';

/**
 * Stage `tenant-rate-limit` (docs/design.md#rate-limits): off unless the tenant sets `rate_limit_per_minute` (no
 * Redis round trip then, and no promise). Test Connection is the operator's tool and is not limited.
 */
export function checkTenantRateLimit(input: Pick<Call, 'deps' | 'test'> & { tenant: RuntimeTenant | undefined }): Promise<void> | undefined {
  const tenant = input.tenant;
  const perMinute = tenant?.rate_limit_per_minute;
  if (tenant === undefined || perMinute === undefined || input.test !== undefined) return undefined;
  return input.deps.rateLimiter.check(tenant.id, perMinute).then((retryAfter) => {
    if (retryAfter !== undefined) {
      throw new RuntimeError(429, 'RATE_LIMITED', `this tenant is over its limit of ${perMinute} executions per minute`).withHeaders({ 'retry-after': String(retryAfter) });
    }
  });
}
