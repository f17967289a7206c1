/**
 * Failures of the authentication code, inbound (session tokens) and outbound (token requests, JWT
 * signing). They carry the status, code and area the widget runtime answers with; the runtime maps
 * them to its envelope in one place (src/runtime/errors.ts). Messages never contain key material,
 * tokens or request bodies.
 */

export type AuthErrorCode = 'INVALID_SESSION' | 'TOKEN_REQUEST_FAILED' | 'UPSTREAM_TIMEOUT' | 'JWT_SIGNING_FAILED';

/** Where an authentication failure belongs, as the envelope's scope names it. */
export const AUTH_AREA = {
  tokenRequest: 'Authentication (token request)',
  jwtSigning: 'Authentication (JWT signing)',
  /** A token request that hit the deadline fails like an upstream timeout. */
  downstream: 'Downstream (network/external service)',
} as const;

export type AuthArea = (typeof AUTH_AREA)[keyof typeof AUTH_AREA];

export class AuthError extends Error {
  /** Set when the failure is a timeout (X-Connector-Timing `timeout: true`). */
  timeout = false;

  constructor(
    readonly status: number,
    readonly code: AuthErrorCode,
    message: string,
    /** The envelope's scope text for this failure; none for session errors. */
    readonly scope?: AuthArea,
  ) {
    super(message);
    this.name = 'AuthError';
  }

  get detail(): string {
    return this.message;
  }
}

/** 401 INVALID_SESSION: a session token that is present but not acceptable (never "anonymous"). */
export function invalidSession(detail: string): AuthError {
  return new AuthError(401, 'INVALID_SESSION', detail);
}

/** A token-endpoint failure: 502 TOKEN_REQUEST_FAILED, or UPSTREAM_TIMEOUT when the deadline passed. */
export function tokenRequestFailed(detail: string, timeout = false): AuthError {
  const err = timeout ? new AuthError(502, 'UPSTREAM_TIMEOUT', detail, AUTH_AREA.downstream) : new AuthError(502, 'TOKEN_REQUEST_FAILED', detail, AUTH_AREA.tokenRequest);
  err.timeout = timeout;
  return err;
}

/** 422 JWT_SIGNING_FAILED: the configured key cannot sign (never names key material). */
export function signingFailed(detail: string): AuthError {
  return new AuthError(422, 'JWT_SIGNING_FAILED', detail, AUTH_AREA.jwtSigning);
}
