import type { Call, RuntimeTenant } from '../context.js';
import { preflightHeaders } from '../cors.js';

/** A preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, before any connector is read. */
export interface PreflightAnswer {
  preflight: Record<string, string>;
}

/** Stage `preflight`: the answer to a browser's preflight, or undefined for every other request. */
export function answerPreflight(input: Pick<Call, 'caller' | 'test'> & { tenant: RuntimeTenant | undefined }): PreflightAnswer | undefined {
  const { caller } = input;
  if (input.test !== undefined || caller.method !== 'OPTIONS' || caller.headers['access-control-request-method'] === undefined) return undefined;
  const requested = caller.headers['access-control-request-headers'];
  return { preflight: preflightHeaders(input.tenant, caller.headers.origin, Array.isArray(requested) ? requested.join(', ') : requested) };
}
