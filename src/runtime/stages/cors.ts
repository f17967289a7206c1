import type { Call, RuntimeTenant } from '../context.js';
import { corsHeaders, NO_CORS } from '../cors.js';

/** Stage `cors`: the CORS headers every answer of this call carries (none for Test Connection). */
export function corsFor(input: Pick<Call, 'caller' | 'test'> & { tenant: RuntimeTenant | undefined }): Readonly<Record<string, string>> {
  if (input.test !== undefined) return NO_CORS;
  return corsHeaders(input.tenant, input.caller.headers.origin);
}
