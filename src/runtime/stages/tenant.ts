import type { Call, RuntimeTenant } from '../context.js';

/** Stage `tenant`: the tenant's settings from the per-process cache (Test Connection brings its own). */
export function lookupTenant(call: Pick<Call, 'deps' | 'tenantId' | 'given'>): RuntimeTenant | undefined | Promise<RuntimeTenant | undefined> {
  if (call.given !== undefined) return call.given.tenant;
  return call.deps.tenants.get(call.tenantId);
}
