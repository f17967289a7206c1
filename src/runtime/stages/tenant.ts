import type { Call, RuntimeTenant } from '../context.js';

/** Stage `tenant`: the tenant's settings from the per-process cache (Test Connection brings its own). */
export function lookupTenant(call: Pick<Call, 'deps' | 'tenantId' | 'given'>): RuntimeTenant | undefined | Promise<RuntimeTenant | undefined> {
  if (call.given !== undefined) return call.given.tenant;
  // A tenant this process holds costs no promise.
  const held = call.deps.tenants.held?.(call.tenantId);
  return held !== undefined ? held.tenant : call.deps.tenants.get(call.tenantId);
}
