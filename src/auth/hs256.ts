import { createHmac, createSecretKey, timingSafeEqual, type KeyObject } from 'node:crypto';

/**
 * HS256 session tokens verified with node:crypto: the tenant secret becomes a KeyObject once (see
 * SessionVerifier), and each verification is one HMAC over the signing input, in this thread. The
 * checks are those of jose's jwtVerify with `algorithms: ['HS256']`, `requiredClaims: ['exp']` and a
 * clock tolerance: the JOSE header must name HS256 and no critical extension, the payload must be a
 * JSON object, `exp` is required, and `exp`, `nbf`, `iat` must be numbers.
 */

/** A token that does not verify; the message is the session error's detail. */
export class TokenRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TokenRejected';
  }
}

export function hs256Key(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

const MALFORMED = 'the session token is malformed or cannot be verified';

function parseJson(part: string): unknown {
  try {
    return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    throw new TokenRejected(MALFORMED);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The verified payload of a compact HS256 JWS; throws TokenRejected. */
export function verifyHs256(token: string, key: KeyObject): Record<string, unknown> {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  if (first <= 0 || second <= first + 1 || token.indexOf('.', second + 1) !== -1) throw new TokenRejected(MALFORMED);
  const header = parseJson(token.slice(0, first));
  if (!isObject(header) || typeof header.alg !== 'string') throw new TokenRejected(MALFORMED);
  if (header.alg !== 'HS256') throw new TokenRejected('the session token uses an algorithm this tenant does not accept');
  // No critical header extension is understood (jose: only `b64`, which is not allowed in a JWT).
  if (header.crit !== undefined || header.b64 !== undefined) throw new TokenRejected(MALFORMED);
  const expected = createHmac('sha256', key).update(token.slice(0, second)).digest();
  const given = Buffer.from(token.slice(second + 1), 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new TokenRejected('the session token signature does not verify');
  const payload = parseJson(token.slice(first + 1, second));
  if (!isObject(payload)) throw new TokenRejected(MALFORMED);
  return payload;
}

/**
 * The time claims at `nowS` with `leewayS` (also re-checked on every use of a remembered token):
 * `exp` required, not past; `nbf` not in the future; `iat` a number when present.
 */
export function checkTimeClaims(payload: Record<string, unknown>, nowS: number, leewayS: number): void {
  const { exp, nbf, iat } = payload;
  if (iat !== undefined && typeof iat !== 'number') throw new TokenRejected('the session token is invalid: iat invalid');
  if (nbf !== undefined) {
    if (typeof nbf !== 'number') throw new TokenRejected('the session token is invalid: nbf invalid');
    if (nbf > nowS + leewayS) throw new TokenRejected('the session token is invalid: nbf check_failed');
  }
  if (exp === undefined) throw new TokenRejected('the session token is invalid: exp missing');
  if (typeof exp !== 'number') throw new TokenRejected('the session token is invalid: exp invalid');
  if (exp <= nowS - leewayS) throw new TokenRejected('the session token has expired');
}
