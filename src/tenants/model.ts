/**
 * Tenant identity and settings. A tenant id is a URL path segment (`/t/{tenant}/…`), a Redis hash
 * tag and part of encryption associated data, so it is deliberately narrow: lowercase letters,
 * digits and `-`, starting with a letter or digit, at most 63 characters (a DNS label).
 */
export const TENANT_ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,62}$/;

export function isValidTenantId(id: string): boolean {
  return TENANT_ID_PATTERN.test(id);
}

export type SessionSettings = { alg: 'HS256'; secret: string } | { jwks_url: string };

/** The runtime's view of a tenant (the HS256 secret is decrypted, in memory only). */
export interface Tenant {
  id: string;
  name: string;
  session: SessionSettings | undefined;
  allowed_origins: string[];
  rate_limit_per_minute?: number;
  /** Extension: executions per minute per signed-in user (session `sub`). */
  rate_limit_per_user_per_minute?: number;
  /** False: outbound requests carry no W3C `traceparent` (set only when turned off). */
  trace_propagation?: boolean;
}

/** What the admin API returns: never the session secret. */
export interface TenantView {
  id: string;
  name: string;
  session: { alg: 'HS256' } | { jwks_url: string } | null;
  allowed_origins: string[];
  rate_limit_per_minute: number | null;
  rate_limit_per_user_per_minute: number | null;
  trace_propagation: boolean;
  created_at: string;
  updated_at: string;
}
