import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type FetchImplementation, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { invalidSession } from './errors.js';
import { UpstreamError, type UpstreamClient } from '../upstream/client.js';
import { BlockedDestinationError } from '../upstream/guard.js';

/** A tenant's session settings (docs/admin-api.md `PUT /tenants/{t}`); `undefined` = no sessions accepted. */
export type SessionSettings = { alg: 'HS256'; secret: string } | { jwks_url: string } | undefined;

/** The verified caller, as templates see it (`user.*`, docs/templates.md#fields-escaping-and-what-is-available). */
export interface SessionUser {
  id: unknown;
  email: unknown;
  first_name: unknown;
  last_name: unknown;
  username: unknown;
  /** Keyed by the numeric profile field id as a string. */
  profile_fields: Record<string, unknown>;
}

const ASYMMETRIC = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const LEEWAY_S = 30;
/** A JWKS is a few keys; anything larger is not one. */
const MAX_JWKS_BYTES = 512 * 1024;

const invalid = invalidSession;

/**
 * Inbound session verification (docs/runtime.md): `Authorization: Bearer <session JWT>`, HS256 with the
 * tenant's secret or any asymmetric algorithm from the tenant's JWKS (fetched once, cached by jose
 * and refreshed on an unknown `kid`). `exp` is required, 30 s leeway, `tid` must be the tenant.
 * A token that is present but not valid is always an error, never "anonymous".
 */
export class SessionVerifier {
  private readonly jwks = new Map<string, JWTVerifyGetKey>();
  private readonly secrets = new Map<string, Uint8Array>();
  private readonly fetchJwks: FetchImplementation;

  /**
   * JWKS URLs come from tenant settings, so they are fetched like any upstream: through the
   * SSRF-guarded client (docs/design.md#address-guard on the address connected, https unless allowed, a size cap).
   */
  constructor(upstream: UpstreamClient) {
    this.fetchJwks = async (url, init) => {
      const { signal } = init;
      const gaveUp = new Promise<never>((_resolve, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
      // jose's own timeout (AbortSignal) is shorter than the upstream deadline: whichever ends first.
      const response = await Promise.race([
        upstream.send(
          { url: upstream.parseUrl(url, 'JWKS URL'), method: 'GET', headers: { accept: 'application/json', 'user-agent': 'gatehouse' } },
          MAX_JWKS_BYTES,
        ),
        gaveUp,
      ]);
      return new Response(response.status === 200 ? new Uint8Array(response.body) : null, { status: response.status });
    };
  }

  async verify(tenant: string, authorization: string | undefined, settings: SessionSettings): Promise<SessionUser | undefined> {
    if (authorization === undefined || authorization.trim() === '') return undefined;
    const m = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i.exec(authorization);
    if (m === null) throw invalid('the Authorization header is not "Bearer <session JWT>"');
    if (settings === undefined) throw invalid('this tenant accepts no session tokens (no session settings configured)');
    let payload: JWTPayload;
    try {
      if ('secret' in settings) {
        let key = this.secrets.get(settings.secret);
        if (key === undefined) {
          key = new TextEncoder().encode(settings.secret);
          if (this.secrets.size > 1000) this.secrets.clear();
          this.secrets.set(settings.secret, key);
        }
        ({ payload } = await jwtVerify(m[1]!, key, { algorithms: ['HS256'], clockTolerance: LEEWAY_S, requiredClaims: ['exp'] }));
      } else {
        ({ payload } = await jwtVerify(m[1]!, this.keySet(settings.jwks_url), {
          algorithms: ASYMMETRIC,
          clockTolerance: LEEWAY_S,
          requiredClaims: ['exp'],
        }));
      }
    } catch (err) {
      throw invalid(describe(err));
    }
    if (payload.tid === undefined) throw invalid(`the session token has no "tid" claim: it must name the tenant ("tid": "${tenant}")`);
    if (payload.tid !== tenant) throw invalid('the session token belongs to another tenant (tid)');
    return userFromClaims(payload);
  }

  private keySet(url: string): JWTVerifyGetKey {
    let set = this.jwks.get(url);
    if (set === undefined) {
      set = createRemoteJWKSet(new URL(url), {
        cacheMaxAge: 10 * 60_000,
        cooldownDuration: 30_000,
        timeoutDuration: 5_000,
        [customFetch]: this.fetchJwks,
      });
      this.jwks.set(url, set);
    }
    return set;
  }
}

function describe(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return 'the session token has expired';
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `the session token is invalid: ${err.claim} ${err.reason}`;
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return 'the session token signature does not verify';
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return 'the session token uses an algorithm this tenant does not accept';
  if (err instanceof joseErrors.JWKSNoMatchingKey) return 'no key of the tenant JWKS matches the session token';
  if (err instanceof joseErrors.JWKSTimeout || err instanceof joseErrors.JWKSInvalid) return 'the tenant JWKS could not be loaded';
  if (err instanceof BlockedDestinationError) return 'the tenant JWKS could not be loaded: its URL points at a blocked destination';
  if (err instanceof UpstreamError) return 'the tenant JWKS could not be loaded: the JWKS server did not answer usably';
  if (err instanceof joseErrors.JOSEError && err.code === 'ERR_JOSE_GENERIC' && /JSON Web Key Set/.test(err.message)) return 'the tenant JWKS could not be loaded';
  return 'the session token is malformed or cannot be verified';
}

function claim(payload: JWTPayload, name: string): unknown {
  const v = payload[name];
  return v === undefined ? null : v;
}

export function userFromClaims(payload: JWTPayload): SessionUser {
  const pf = payload.profile_fields;
  const profile: Record<string, unknown> = {};
  if (typeof pf === 'object' && pf !== null && !Array.isArray(pf)) {
    for (const [k, v] of Object.entries(pf)) profile[String(k)] = v;
  }
  return {
    id: claim(payload, 'sub'),
    email: claim(payload, 'email'),
    first_name: claim(payload, 'first_name'),
    last_name: claim(payload, 'last_name'),
    username: claim(payload, 'username'),
    profile_fields: profile,
  };
}
