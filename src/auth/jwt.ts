import { createHash, createPrivateKey, createSecretKey, type KeyObject } from 'node:crypto';
import { CompactSign } from 'jose';
import type { JwtAlgorithm } from '../registry/model.js';

/** Signing failed (bad key, key/algorithm mismatch): 422 JWT_SIGNING_FAILED. Never names key material. */
export class JwtSigningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JwtSigningError';
  }
}

const TIME_CLAIMS = new Set(['exp', 'iat', 'nbf']);

/** docs/runtime.md#outbound-authentication-srcauth: `exp`/`iat`/`nbf` rendered as numeric strings become integers; other values are kept. */
export function normaliseTimeClaims(claims: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(claims)) {
    if (TIME_CLAIMS.has(k) && typeof v === 'string' && /^\s*-?\d+(?:\.\d+)?\s*$/.test(v)) out[k] = Math.trunc(Number(v));
    else out[k] = v;
  }
  return out;
}

// Parsing a PEM (RSA especially) costs far more than signing; keys are kept per (text, algorithm).
const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_MAX = 256;

function importKey(text: string, alg: JwtAlgorithm): KeyObject {
  const id = createHash('sha256').update(alg).update('\0').update(text).digest('hex');
  const hit = keyCache.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject;
  try {
    if (alg.startsWith('HS')) {
      if (text.length === 0) throw new Error('empty');
      key = createSecretKey(Buffer.from(text, 'utf8'));
    } else {
      const trimmed = text.trim();
      if (trimmed.startsWith('{')) {
        key = createPrivateKey({ key: JSON.parse(trimmed) as import('node:crypto').JsonWebKey, format: 'jwk' });
      } else {
        // Secrets pasted through a single-line form often carry literal "\n" sequences.
        const pem = trimmed.includes('\n') ? trimmed : trimmed.replace(/\\n/g, '\n');
        key = createPrivateKey(pem);
      }
    }
  } catch {
    throw new JwtSigningError(`the signing key is not a valid ${alg.startsWith('HS') ? 'HMAC secret' : 'private key (PEM or JWK)'} for ${alg}`);
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, key);
  return key;
}

/**
 * Signs `claims` as a compact JWS. The payload is exactly the given object (no claims added); the
 * protected header is `{alg, ...headers}` — `alg` always the configured one.
 */
export async function signJwt(
  claims: Record<string, unknown>,
  keyText: string,
  alg: JwtAlgorithm,
  headers: Record<string, unknown> | undefined,
): Promise<string> {
  const key = importKey(keyText, alg);
  const { alg: _ignored, ...extra } = headers ?? {};
  try {
    return await new CompactSign(new TextEncoder().encode(JSON.stringify(claims)))
      .setProtectedHeader({ alg, ...extra })
      .sign(key);
  } catch (err) {
    const reason = (err as Error).message.replace(/[\r\n]+/g, ' ').slice(0, 200);
    throw new JwtSigningError(`signing with ${alg} failed: ${reason}`);
  }
}
