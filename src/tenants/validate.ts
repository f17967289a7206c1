import type { Cidr } from '../config.js';
import { allowsLoopback, isAllowedAddress, isLocalhostName, literalHostAddress } from '../upstream/address-policy.js';

/** Body of `PUT /admin/v1/tenants/{tenant}` (docs/admin-api.md). */
export interface TenantInput {
  name: string;
  /** `{alg: "HS256"}` without `secret` keeps the secret already stored. `null`/absent: no session verification. */
  session?: { alg: 'HS256'; secret?: string } | { jwks_url: string } | null;
  allowed_origins?: string[];
  rate_limit_per_minute?: number | null;
  rate_limit_per_user_per_minute?: number | null;
  trace_propagation?: boolean;
}

export interface InputProblem {
  path: string;
  message: string;
}

export interface TenantRules {
  allowHttp: boolean;
  allowCidrs: Cidr[];
}

export const MAX_TENANT_NAME = 255;
/** RFC 7518 §3.2: an HS256 key must be at least as long as the hash output (256 bits). */
export const MIN_HS256_SECRET_BYTES = 32;
export const MAX_HS256_SECRET_BYTES = 4096;
export const MAX_ORIGINS = 100;
export const MAX_RATE_LIMIT = 1_000_000;

/**
 * Semantic checks the JSON schema of the route cannot express. Every problem is reported at once;
 * messages never quote the session secret.
 */
export function validateTenantInput(input: TenantInput, rules: TenantRules): InputProblem[] {
  const problems: InputProblem[] = [];
  const name = input.name.trim();
  if (name === '') problems.push({ path: '/body/name', message: 'must not be empty' });
  if (input.name.length > MAX_TENANT_NAME) problems.push({ path: '/body/name', message: `must be at most ${MAX_TENANT_NAME} characters` });

  const session = input.session;
  if (session !== undefined && session !== null) {
    if ('alg' in session) {
      if (session.secret !== undefined) {
        const bytes = Buffer.byteLength(session.secret, 'utf8');
        if (bytes < MIN_HS256_SECRET_BYTES) problems.push({ path: '/body/session/secret', message: `must be at least ${MIN_HS256_SECRET_BYTES} bytes (HS256 needs a 256-bit key; generate one with: openssl rand -hex 32)` });
        if (bytes > MAX_HS256_SECRET_BYTES) problems.push({ path: '/body/session/secret', message: `must be at most ${MAX_HS256_SECRET_BYTES} bytes` });
      }
    } else {
      const problem = jwksUrlProblem(session.jwks_url, rules);
      if (problem !== undefined) problems.push({ path: '/body/session/jwks_url', message: problem });
    }
  }

  const origins = input.allowed_origins ?? [];
  if (origins.length > MAX_ORIGINS) problems.push({ path: '/body/allowed_origins', message: `must list at most ${MAX_ORIGINS} origins` });
  const seen = new Set<string>();
  origins.forEach((origin, i) => {
    // `*` (any origin) stands alone: next to it an exact origin would be a no-op that looks like a restriction.
    if (origin === '*') {
      if (origins.length > 1) problems.push({ path: `/body/allowed_origins/${i}`, message: '"*" allows every origin: list it alone, or list exact origins without it' });
      return;
    }
    const problem = originProblem(origin);
    if (problem !== undefined) problems.push({ path: `/body/allowed_origins/${i}`, message: problem });
    else if (seen.has(origin)) problems.push({ path: `/body/allowed_origins/${i}`, message: `"${origin}" is listed twice` });
    seen.add(origin);
  });

  for (const name of ['rate_limit_per_minute', 'rate_limit_per_user_per_minute'] as const) {
    const rate = input[name];
    if (rate !== undefined && rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > MAX_RATE_LIMIT)) {
      problems.push({ path: `/body/${name}`, message: `must be a whole number from 1 to ${MAX_RATE_LIMIT} (omit it or send null for no limit)` });
    }
  }
  return problems;
}

/**
 * An origin as browsers send it in the `Origin` header: `scheme://host[:port]`, lowercase, no
 * default port, no path. Requiring the exact form makes the runtime's comparison a string equality.
 */
function originProblem(origin: string): string | undefined {
  let url: URL;
  // Browsers send one exact origin; a pattern such as https://*.example.com would never match it.
  if (origin.includes('*')) return `"${origin}": wildcards inside an origin are not supported; list each origin, or use "*" alone for every origin`;
  try {
    url = new URL(origin);
  } catch {
    return `"${origin}" is not an origin (expected e.g. https://app.example.com)`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `"${origin}" must use https:// or http://`;
  if (url.username !== '' || url.password !== '') return `"${origin}" must not contain credentials`;
  if (url.origin !== origin) return `"${origin}" is not in origin form; write it as "${url.origin}" (scheme and host only, no path or trailing slash)`;
  return undefined;
}

function jwksUrlProblem(raw: string, rules: TenantRules): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL (expected e.g. https://login.example.com/.well-known/jwks.json)';
  }
  if (url.protocol === 'http:' && !rules.allowHttp) return 'must use https:// (http:// is allowed only with UPSTREAM_ALLOW_HTTP=true)';
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must use https://';
  if (url.username !== '' || url.password !== '') return 'must not contain credentials';
  if (url.hash !== '') return 'must not contain a #fragment';
  if (raw.length > 2048) return 'must be at most 2048 characters';
  // Save-time rules equal the run-time guard's (docs/design.md#address-guard); names are checked when fetched.
  const literal = literalHostAddress(url.hostname);
  if (literal !== undefined && !isAllowedAddress(literal, rules.allowCidrs)) {
    return `points at the non-public address ${literal} (allow it with UPSTREAM_ALLOW_CIDRS)`;
  }
  if (isLocalhostName(url.hostname) && !allowsLoopback(rules.allowCidrs)) return 'points at localhost (allow it with UPSTREAM_ALLOW_CIDRS)';
  return undefined;
}
