import type { RuntimeTenant } from './context.js';

/** Headers a widget may read from an execute answer (cross-origin reads need them exposed). */
const EXPOSE = 'X-Request-ID, Server-Timing, X-Connector-Timing, X-Cache, Retry-After, Allow';

/** No CORS headers (shared: most calls send no Origin). */
export const NO_CORS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * CORS from the tenant's `allowed_origins` (docs/runtime.md): an exact origin match (or `*`) echoes the
 * origin; anything else gets no CORS headers, so the browser refuses to hand the answer to the page.
 */
export function corsHeaders(tenant: RuntimeTenant | undefined, origin: string | undefined): Readonly<Record<string, string>> {
  if (origin === undefined || tenant === undefined) return NO_CORS;
  const allowed = tenant.allowed_origins;
  if (!allowed.includes(origin) && !allowed.includes('*')) return NO_CORS;
  return {
    'access-control-allow-origin': origin,
    'access-control-expose-headers': EXPOSE,
    'timing-allow-origin': origin,
    vary: 'Origin',
  };
}

/** The answer to a preflight (`OPTIONS` with `Access-Control-Request-Method`). */
export function preflightHeaders(tenant: RuntimeTenant | undefined, origin: string | undefined, requestedHeaders: string | undefined): Record<string, string> {
  const base = corsHeaders(tenant, origin);
  if (base['access-control-allow-origin'] === undefined) return { vary: 'Origin' };
  // Undeclared caller headers are dropped by the pipeline anyway (docs/design.md#merge-rules), so any may be sent.
  const allowHeaders = requestedHeaders !== undefined && /^[A-Za-z0-9!#$%&'*+.^_`|~, -]{1,1000}$/.test(requestedHeaders) ? requestedHeaders : 'Authorization, Content-Type, X-Path-Params';
  return {
    ...base,
    'access-control-allow-methods': 'GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS',
    'access-control-allow-headers': allowHeaders,
    'access-control-max-age': '600',
    vary: 'Origin, Access-Control-Request-Headers',
  };
}
