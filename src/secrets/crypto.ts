import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';

/**
 * Envelope encryption with AES-256-GCM.
 *
 * - Each tenant has one random 256-bit data key (DEK). Values (secrets, the session secret) are
 *   sealed with the DEK.
 * - The DEK is stored only wrapped (sealed) by the master key (`GATEHOUSE_MASTER_KEY`), once per
 *   master key id, so a rotation can add the wrapping under a new master key while running
 *   processes keep using the old one.
 * - The associated data binds every ciphertext to its purpose, tenant and name: a sealed value
 *   copied to another tenant, another name or another field fails authentication.
 *
 * Sealed format: `v1.<base64url(iv 12 bytes)>.<base64url(ciphertext)>.<base64url(tag 16 bytes)>`.
 */

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const FORMAT = 'v1';

export interface MasterKey {
  /** Stable, non-secret identifier of the key (an HMAC of a fixed label under the key). */
  id: string;
  key: Buffer;
}

/** Decryption failed: wrong key, tampered value, or the value belongs to another tenant/name. */
export class DecryptError extends Error {
  constructor(what: string) {
    super(`cannot decrypt ${what}: wrong key, or the stored value was altered or moved`);
    this.name = 'DecryptError';
  }
}

export function masterKeyId(key: Buffer): string {
  return `mk-${createHmac('sha256', key).update('gatehouse master key id v1').digest('hex').slice(0, 16)}`;
}

export function masterKey(key: Buffer): MasterKey {
  if (key.length !== 32) throw new Error('a master key must be exactly 32 bytes');
  return { id: masterKeyId(key), key };
}

export function newDataKey(): Buffer {
  return randomBytes(32);
}

/** Associated data: JSON arrays keep the parts unambiguous whatever characters they hold. */
export const associatedData = {
  dataKey: (tenant: string) => JSON.stringify(['gatehouse', 'data-key', tenant]),
  secret: (tenant: string, name: string) => JSON.stringify(['gatehouse', 'secret', tenant, name]),
  sessionSecret: (tenant: string) => JSON.stringify(['gatehouse', 'session-secret', tenant]),
};

export function seal(key: Buffer, plaintext: Buffer | string, aad: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext), cipher.final()]);
  return [FORMAT, iv.toString('base64url'), body.toString('base64url'), cipher.getAuthTag().toString('base64url')].join('.');
}

export function open(key: Buffer, sealed: string, aad: string, what: string): Buffer {
  const parts = sealed.split('.');
  if (parts.length !== 4 || parts[0] !== FORMAT) throw new DecryptError(what);
  const iv = Buffer.from(parts[1]!, 'base64url');
  const body = Buffer.from(parts[2]!, 'base64url');
  const tag = Buffer.from(parts[3]!, 'base64url');
  if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DecryptError(what);
  try {
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    throw new DecryptError(what);
  }
}

export function sealString(key: Buffer, plaintext: string, aad: string): string {
  return seal(key, plaintext, aad);
}

export function openString(key: Buffer, sealed: string, aad: string, what: string): string {
  return open(key, sealed, aad, what).toString('utf8');
}

export function wrapDataKey(master: MasterKey, dek: Buffer, tenant: string): string {
  return seal(master.key, dek, associatedData.dataKey(tenant));
}

export function unwrapDataKey(master: MasterKey, wrapped: string, tenant: string): Buffer {
  const dek = open(master.key, wrapped, associatedData.dataKey(tenant), `the data key of tenant ${tenant}`);
  if (dek.length !== 32) throw new DecryptError(`the data key of tenant ${tenant}`);
  return dek;
}
