import { createHash } from 'node:crypto';
import type { ApiKeyConfig, JwtAlgorithm, JwtConfig, OAuthClientCredentialsConfig, OAuthJwtBearerConfig } from '../registry/model.js';
import { signingFailed } from './errors.js';
import type { OutboundTrace } from '../observability/tracing.js';
import type { UpstreamClient } from '../upstream/client.js';
import { JwtSigningError, normaliseTimeClaims, signJwt } from './jwt.js';
import { TokenCache, type CachedToken } from './token-cache.js';
import { requestToken } from './token-endpoint.js';

/** An authentication config after its templates were rendered (strings are final values). */
export type ResolvedAuth =
  | { type: 'none' }
  | ({ type: 'api_key' } & ApiKeyConfig)
  | ({ type: 'oauth_client_credentials' } & OAuthClientCredentialsConfig)
  | ({ type: 'jwt' } & JwtConfig)
  | ({ type: 'oauth_jwt_bearer' } & OAuthJwtBearerConfig);

/** What authentication adds to the outgoing request. */
export interface AppliedAuth {
  /** Header name (as configured) → value. */
  headers: [string, string][];
  /** Query pairs; an API key here replaces a caller value of the same name (docs/design.md#request-bodies). */
  query: [string, string][];
  /** The OAuth token used, so an upstream 401 can evict it and retry once (docs/design.md#oauth-client-credentials). */
  token?: CachedToken;
  /** Material identifying the credential (hashed) — for the cache key of docs/design.md#http-cache, never sent anywhere. */
  credentialDigest: string;
}

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** docs/runtime.md#outbound-authentication-srcauth: the assertion lives three minutes. */
const ASSERTION_LIFETIME_S = 180;
/** docs/design.md#oauth-client-credentials: without `expires_in` a client-credentials token is kept five minutes. */
const DEFAULT_TOKEN_TTL_S = 300;

function digest(material: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(material)).digest('base64url');
}

/** An API key in a header or the query: no I/O, so no promise (the runtime calls it directly). */
export function applyApiKey(auth: Extract<ResolvedAuth, { type: 'api_key' }>): AppliedAuth {
  const credentialDigest = digest(['api_key', auth.key, auth.value]);
  return auth.in === 'header' ? { headers: [[auth.key, auth.value]], query: [], credentialDigest } : { headers: [], query: [[auth.key, auth.value]], credentialDigest };
}

function bearer(token: CachedToken, credentialDigest: string): AppliedAuth {
  return { headers: [['Authorization', `Bearer ${token.accessToken}`]], query: [], token, credentialDigest };
}

/**
 * The outbound strategies of docs/runtime.md#outbound-authentication-srcauth. One instance per process; token state lives in `TokenCache`
 * (Redis), so any number of processes share tokens and token requests.
 */
export class OutboundAuth {
  constructor(
    private readonly client: UpstreamClient,
    private readonly tokens: TokenCache,
  ) {}

  /** `outbound` traces a token request, when one is made. */
  async apply(tenant: string, auth: ResolvedAuth, nowSeconds: number, outbound?: OutboundTrace): Promise<AppliedAuth> {
    switch (auth.type) {
      case 'none':
        return { headers: [], query: [], credentialDigest: '' };
      case 'api_key':
        return applyApiKey(auth);
      case 'jwt': {
        const claims = normaliseTimeClaims(auth.claims);
        const jwt = await this.sign(claims, auth.private_key, auth.algorithm, auth.jwt_headers);
        // A JWT is per request; the digest is of the signing identity and every claim that does not
        // merely change with time, so two users (any per-user claim) never share a cache entry.
        const { exp: _e, iat: _i, nbf: _n, jti: _j, ...stable } = claims;
        return { headers: [['Authorization', `Bearer ${jwt}`]], query: [], credentialDigest: digest(['jwt', auth.private_key, auth.algorithm, stable, auth.jwt_headers ?? null]) };
      }
      case 'oauth_client_credentials':
        return this.clientCredentials(tenant, auth, outbound);
      case 'oauth_jwt_bearer':
        return this.jwtBearer(tenant, auth, nowSeconds, outbound);
    }
  }

  /**
   * After an upstream 401 with a cached token: forget that token and obtain a new one (once).
   * Returns undefined when the auth had no cached token (nothing to retry).
   */
  async refresh(tenant: string, auth: ResolvedAuth, applied: AppliedAuth, nowSeconds: number, outbound?: OutboundTrace): Promise<AppliedAuth | undefined> {
    if (applied.token === undefined || !applied.token.fromCache) return undefined;
    await this.tokens.evict(applied.token.key, applied.token.accessToken);
    if (auth.type === 'oauth_client_credentials') return this.clientCredentials(tenant, auth, outbound);
    if (auth.type === 'oauth_jwt_bearer') return this.jwtBearer(tenant, auth, nowSeconds, outbound);
    return undefined;
  }

  private async clientCredentials(
    tenant: string,
    auth: Extract<ResolvedAuth, { type: 'oauth_client_credentials' }>,
    outbound: OutboundTrace | undefined,
  ): Promise<AppliedAuth> {
    const scope = auth.scope !== undefined && auth.scope !== '' ? auth.scope : undefined;
    const material = ['oauth_client_credentials', auth.token_url, auth.client_id, auth.client_secret, scope ?? null];
    const key = TokenCache.cacheKey(tenant, material);
    const token = await this.tokens.get(key, async () => {
      const form: Record<string, string> = {
        grant_type: 'client_credentials',
        client_id: auth.client_id,
        client_secret: auth.client_secret,
        ...(scope === undefined ? {} : { scope }),
      };
      const res = await requestToken(this.client, auth.token_url, form, outbound);
      return { accessToken: res.accessToken, ttlSeconds: res.expiresIn === undefined ? DEFAULT_TOKEN_TTL_S : res.expiresIn - 60 };
    });
    return bearer(token, digest(material));
  }

  private async jwtBearer(
    tenant: string,
    auth: Extract<ResolvedAuth, { type: 'oauth_jwt_bearer' }>,
    nowSeconds: number,
    outbound: OutboundTrace | undefined,
  ): Promise<AppliedAuth> {
    const extra = auth.additional_claims ?? {};
    const keyDigest = createHash('sha256').update(auth.private_key).digest('hex');
    const material = [
      'oauth_jwt_bearer', auth.token_url, auth.client_id, auth.subject, auth.audience, keyDigest, auth.algorithm,
      extra, auth.jwt_headers ?? null,
    ];
    const key = TokenCache.cacheKey(tenant, material);
    const token = await this.tokens.get(key, async () => {
      // docs/design.md#oauth-jwt-bearer: the registered claims are ours; additional_claims cannot replace them.
      const claims = normaliseTimeClaims({
        ...extra,
        iss: auth.client_id,
        sub: auth.subject,
        aud: auth.audience,
        exp: nowSeconds + ASSERTION_LIFETIME_S,
        iat: nowSeconds,
      });
      const assertion = await this.sign(claims, auth.private_key, auth.algorithm, auth.jwt_headers);
      const res = await requestToken(this.client, auth.token_url, { grant_type: JWT_BEARER_GRANT, assertion }, outbound);
      // docs/runtime.md#outbound-authentication-srcauth: the lifetime comes from token_ttl, not from the token response.
      return { accessToken: res.accessToken, ttlSeconds: auth.token_ttl - 60 };
    });
    return bearer(token, digest(material));
  }

  private async sign(claims: Record<string, unknown>, key: string, alg: JwtAlgorithm, headers: Record<string, unknown> | undefined): Promise<string> {
    try {
      return await signJwt(claims, key, alg, headers);
    } catch (err) {
      if (err instanceof JwtSigningError) throw signingFailed(err.message);
      throw err;
    }
  }
}
