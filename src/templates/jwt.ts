import { createPrivateKey } from 'node:crypto';
import { CompactSign } from 'jose';
import { JwtSigningError } from './errors.js';
import type { JwtRequest } from './state.js';

/**
 * Signs one jwt_encode call with jose, producing what PyJWT's jwt.encode does: header
 * `{"alg":…,"kid":…,"typ":"JWT"}` (sorted keys, compact), the payload exactly as serialised by the
 * template (json.dumps with "," and ":" separators). HS* keys are the UTF-8 bytes of the string;
 * other algorithms take a PEM private key (PKCS#8, PKCS#1 or SEC1).
 */
export async function signJwt(req: JwtRequest): Promise<string> {
  try {
    const key = req.algorithm.startsWith('HS') ? new TextEncoder().encode(req.key) : createPrivateKey(req.key);
    return await new CompactSign(new TextEncoder().encode(req.payload))
      .setProtectedHeader(req.header as { alg: string })
      .sign(key);
  } catch (err) {
    // The message never includes the key material.
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw new JwtSigningError(`jwt_encode could not sign with ${req.algorithm}: ${reason}`, req.line, req.column);
  }
}
