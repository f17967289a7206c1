import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  associatedData,
  DecryptError,
  masterKey,
  masterKeyId,
  newDataKey,
  openString,
  sealString,
  unwrapDataKey,
  wrapDataKey,
} from '../../src/secrets/crypto.js';
import { DataKeys, MasterKeyMismatchError } from '../../src/secrets/keys.js';
import { SecretStore } from '../../src/secrets/store.js';
import { flushTestRedis, testRedisUrl } from '../support/redis.js';

describe('envelope encryption', () => {
  const dek = newDataKey();

  it('seals and opens with AES-256-GCM; every seal uses a fresh IV', () => {
    const aad = associatedData.secret('acme', 'token');
    const a = sealString(dek, 'hello wörld 🔑', aad);
    const b = sealString(dek, 'hello wörld 🔑', aad);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^v1\.[\w-]{16}\.[\w-]+\.[\w-]{22}$/);
    expect(openString(dek, a, aad, 'x')).toBe('hello wörld 🔑');
  });

  it('binds a value to its tenant and name: a moved ciphertext does not open', () => {
    const sealed = sealString(dek, 'value', associatedData.secret('acme', 'token'));
    expect(() => openString(dek, sealed, associatedData.secret('other', 'token'), 'x')).toThrow(DecryptError);
    expect(() => openString(dek, sealed, associatedData.secret('acme', 'token2'), 'x')).toThrow(DecryptError);
    expect(() => openString(dek, sealed, associatedData.sessionSecret('acme'), 'x')).toThrow(DecryptError);
    expect(() => openString(newDataKey(), sealed, associatedData.secret('acme', 'token'), 'x')).toThrow(DecryptError);
  });

  it('detects tampering anywhere in the sealed text', () => {
    const aad = associatedData.secret('acme', 'token');
    const sealed = sealString(dek, 'value', aad);
    const parts = sealed.split('.');
    for (let i = 1; i < 4; i++) {
      const bytes = Buffer.from(parts[i]!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      const altered = [...parts];
      altered[i] = bytes.toString('base64url');
      expect(() => openString(dek, altered.join('.'), aad, 'x')).toThrow(DecryptError);
    }
    expect(() => openString(dek, `v2${sealed.slice(2)}`, aad, 'x')).toThrow(DecryptError);
    expect(() => openString(dek, 'garbage', aad, 'x')).toThrow(DecryptError);
  });

  it('wraps data keys per tenant under a master key with a stable, distinct key id', () => {
    const k1 = masterKey(randomBytes(32));
    const k2 = masterKey(randomBytes(32));
    expect(k1.id).toMatch(/^mk-[0-9a-f]{16}$/);
    expect(masterKeyId(k1.key)).toBe(k1.id);
    expect(k1.id).not.toBe(k2.id);
    const wrapped = wrapDataKey(k1, dek, 'acme');
    expect(unwrapDataKey(k1, wrapped, 'acme').equals(dek)).toBe(true);
    expect(() => unwrapDataKey(k2, wrapped, 'acme')).toThrow(DecryptError);
    expect(() => unwrapDataKey(k1, wrapped, 'other')).toThrow(DecryptError);
    expect(() => masterKey(randomBytes(16))).toThrow();
  });
});

describe('data keys and sealed values in Redis', () => {
  let redis: Redis;
  beforeAll(async () => {
    await flushTestRedis();
    redis = new Redis(testRedisUrl());
  });
  afterAll(() => redis.disconnect());

  it('concurrent first writes in several processes agree on one data key', async () => {
    const master = masterKey(randomBytes(32));
    const processes = Array.from({ length: 5 }, () => new DataKeys(redis, master));
    const keys = await Promise.all(processes.map((p) => p.ensure('race')));
    for (const k of keys) expect(k.equals(keys[0]!)).toBe(true);
    expect(await redis.hkeys('gh:{t:race}:dek')).toEqual([master.id]);
  });

  it('refuses to work with a master key that does not wrap the tenant data key', async () => {
    const good = new SecretStore(redis, new DataKeys(redis, masterKey(randomBytes(32))));
    await good.put('locked', 'secret', 'token', 'value');
    const wrong = new SecretStore(redis, new DataKeys(redis, masterKey(randomBytes(32))));
    await expect(wrong.resolve('locked', ['token'], [])).rejects.toBeInstanceOf(MasterKeyMismatchError);
    await expect(wrong.put('locked', 'secret', 'other', 'v')).rejects.toMatchObject({ code: 'MASTER_KEY_MISMATCH' });
    // Variables need no key.
    await good.put('locked', 'variable', 'plain', 'text');
    expect((await wrong.resolve('locked', [], ['plain'])).variables.get('plain')).toBe('text');
  });

  it('a sealed secret copied to another name or tenant does not decrypt', async () => {
    const store = new SecretStore(redis, new DataKeys(redis, masterKey(randomBytes(32))));
    await store.put('copy', 'secret', 'source', 'the-value');
    await store.put('copy', 'secret', 'target', 'other-value');
    const record = (await redis.hget('gh:{t:copy}:sv', 'source'))!;
    await redis.hset('gh:{t:copy}:sv', 'target', record);
    await expect(store.resolve('copy', ['target'], [])).rejects.toMatchObject({ code: 'SECRET_UNREADABLE' });
    expect((await store.resolve('copy', ['source'], [])).secrets.get('source')).toBe('the-value');
  });
});
