import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionVerifier } from '../../src/auth/session.js';
import { parseCidrList } from '../../src/config.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { createUpstreamDispatcher } from '../../src/upstream/dispatcher.js';
import { createAddressGuard } from '../../src/upstream/guard.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

/**
 * The verified-session cache never accepts what verification would reject: a remembered token is
 * bound to its tenant, to the secret or JWKS it verified with, and its exp/nbf are checked on every use.
 */

const SECRET = 'tenant-session-secret-0123456789';
const ROTATED = 'rotated-session-secret-abcdefghij';
const hs = (claims: Record<string, unknown>, secret = SECRET) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));

function upstreamClient(): UpstreamClient {
  const guard = createAddressGuard(parseCidrList('127.0.0.0/8,::1/128', []));
  return new UpstreamClient({ timeoutMs: 2000, allowHttp: true, guard, dispatcher: createUpstreamDispatcher({ guard, extraCa: undefined, timeoutMs: 2000 }) });
}

describe('verified-session cache', () => {
  const client = upstreamClient();
  let clock = 1_900_000_000;
  const verifier = new SessionVerifier(client, { nowS: () => clock, jwksCacheMaxAgeMs: 200, jwksCooldownMs: 0 });
  const settings = { alg: 'HS256' as const, secret: SECRET };
  let jwks: TestUpstream;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  let keys: unknown[] = [];

  beforeAll(async () => {
    jwks = await startUpstream();
    keys = [{ ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' }];
    jwks.route('/jwks.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
  });
  afterAll(async () => {
    await jwks.close();
    await client.close();
  });

  it('a verified token is remembered: the next use answers without verification (no promise)', async () => {
    const token = `Bearer ${await hs({ tid: 'acme', sub: 'u-1', exp: clock + 600 })}`;
    expect(verifier.remembered('acme', token, settings)).toBeUndefined();
    expect((await verifier.verify('acme', token, settings))?.id).toBe('u-1');
    expect(verifier.remembered('acme', token, settings)?.id).toBe('u-1');
  });

  it('an expired token is refused although it verified before (exp re-checked on every use, 30 s leeway)', async () => {
    const token = `Bearer ${await hs({ tid: 'acme', sub: 'u-2', exp: clock + 10 })}`;
    expect((await verifier.verify('acme', token, settings))?.id).toBe('u-2');
    clock += 35; // exp + 25 s: within the leeway
    expect(verifier.remembered('acme', token, settings)?.id).toBe('u-2');
    clock += 10; // exp + 35 s: past it
    expect(verifier.remembered('acme', token, settings)).toBeUndefined();
    await expect(verifier.verify('acme', token, settings)).rejects.toMatchObject({ status: 401, code: 'INVALID_SESSION', message: 'the session token has expired' });
  });

  it('a token of another tenant is refused although it verified for its own', async () => {
    const token = `Bearer ${await hs({ tid: 'acme', sub: 'u-3', exp: clock + 600 })}`;
    expect((await verifier.verify('acme', token, settings))?.id).toBe('u-3');
    expect(verifier.remembered('globex', token, settings)).toBeUndefined();
    await expect(verifier.verify('globex', token, settings)).rejects.toMatchObject({ code: 'INVALID_SESSION', message: 'the session token belongs to another tenant (tid)' });
    // …and stays valid for its own tenant
    expect((await verifier.verify('acme', token, settings))?.id).toBe('u-3');
  });

  it('a token signed with a secret the tenant rotated away from is refused', async () => {
    const token = `Bearer ${await hs({ tid: 'acme', sub: 'u-4', exp: clock + 600 })}`;
    expect((await verifier.verify('acme', token, settings))?.id).toBe('u-4');
    const rotated = { alg: 'HS256' as const, secret: ROTATED };
    expect(verifier.remembered('acme', token, rotated)).toBeUndefined();
    await expect(verifier.verify('acme', token, rotated)).rejects.toMatchObject({ code: 'INVALID_SESSION', message: 'the session token signature does not verify' });
    const fresh = `Bearer ${await hs({ tid: 'acme', sub: 'u-4', exp: clock + 600 }, ROTATED)}`;
    expect((await verifier.verify('acme', fresh, rotated))?.id).toBe('u-4');
  });

  it('failures are never remembered: a token not yet valid is accepted once its nbf is reached', async () => {
    const token = `Bearer ${await hs({ tid: 'acme', sub: 'u-5', exp: clock + 600, nbf: clock + 100 })}`;
    await expect(verifier.verify('acme', token, settings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
    await expect(verifier.verify('acme', token, settings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
    clock += 100;
    expect((await verifier.verify('acme', token, settings))?.id).toBe('u-5');
    const forged = `Bearer ${await hs({ tid: 'acme', sub: 'u-5', exp: clock + 600 }, 'not-the-tenant-secret-000000000')}`;
    for (let i = 0; i < 2; i++) await expect(verifier.verify('acme', forged, settings)).rejects.toMatchObject({ message: 'the session token signature does not verify' });
  });

  it('a JWKS tenant whose key was removed: the remembered token is refused once the verifier reloads the set', async () => {
    const jwksSettings = { jwks_url: `${jwks.url}/jwks.json` };
    const real = () => Math.floor(Date.now() / 1000);
    const local = new SessionVerifier(client, { jwksCacheMaxAgeMs: 200, jwksCooldownMs: 0 });
    const token = `Bearer ${await new SignJWT({ tid: 'acme', sub: 'r', exp: real() + 600 }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey)}`;
    expect((await local.verify('acme', token, jwksSettings))?.id).toBe('r');
    expect(local.remembered('acme', token, jwksSettings)?.id).toBe('r');
    keys = [];
    // Within the JWKS cache age the key may still be used (as jose itself would); after it, never.
    const deadline = Date.now() + 10_000;
    let refused: unknown;
    while (refused === undefined) {
      refused = await local.verify('acme', token, jwksSettings).then(() => undefined, (err: unknown) => err);
      if (Date.now() > deadline) throw new Error('the removed key was still accepted after 10 s');
      if (refused === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(refused).toMatchObject({ code: 'INVALID_SESSION', message: 'no key of the tenant JWKS matches the session token' });
    expect(local.remembered('acme', token, jwksSettings)).toBeUndefined();
    await expect(local.verify('acme', token, jwksSettings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
  });

  it('the cache is bounded: the least recently used token is the one forgotten', async () => {
    const small = new SessionVerifier(client, { nowS: () => clock, maxVerified: 2 });
    const a = `Bearer ${await hs({ tid: 'acme', sub: 'a', exp: clock + 600 })}`;
    const b = `Bearer ${await hs({ tid: 'acme', sub: 'b', exp: clock + 600 })}`;
    const c = `Bearer ${await hs({ tid: 'acme', sub: 'c', exp: clock + 600 })}`;
    await small.verify('acme', a, settings);
    await small.verify('acme', b, settings);
    expect(small.remembered('acme', a, settings)?.id).toBe('a'); // a is now the most recent
    await small.verify('acme', c, settings);
    expect(small.remembered('acme', b, settings)).toBeUndefined();
    expect(small.remembered('acme', a, settings)?.id).toBe('a');
    expect(small.remembered('acme', c, settings)?.id).toBe('c');
  });

  it('a token used again is forgotten only after every token used less recently', async () => {
    const small = new SessionVerifier(client, { nowS: () => clock, maxVerified: 4 });
    const t: Record<string, string> = {};
    for (const sub of ['a', 'b', 'c', 'd', 'e', 'f', 'g']) t[sub] = `Bearer ${await hs({ tid: 'acme', sub, exp: clock + 600 })}`;
    for (const sub of ['a', 'b', 'c', 'd']) await small.verify('acme', t[sub]!, settings);
    expect(small.remembered('acme', t.a!, settings)?.id).toBe('a');
    await small.verify('acme', t.e!, settings); // b goes
    expect(small.remembered('acme', t.e!, settings)?.id).toBe('e');
    expect(small.remembered('acme', t.a!, settings)?.id).toBe('a');
    await small.verify('acme', t.f!, settings); // c goes
    await small.verify('acme', t.g!, settings); // d goes
    expect(['a', 'b', 'c', 'd', 'e', 'f', 'g'].filter((sub) => small.remembered('acme', t[sub]!, settings) !== undefined)).toEqual(['a', 'e', 'f', 'g']);
  });

  it('a forgotten token is not found again through its recently used header', async () => {
    const one = new SessionVerifier(client, { nowS: () => clock, maxVerified: 1 });
    const a = `Bearer ${await hs({ tid: 'acme', sub: 'a', exp: clock + 600 })}`;
    const b = `Bearer ${await hs({ tid: 'acme', sub: 'b', exp: clock + 60 })}`;
    await one.verify('acme', a, settings);
    expect(one.remembered('acme', a, settings)?.id).toBe('a');
    expect(one.remembered('acme', a, settings)?.id).toBe('a');
    await one.verify('acme', b, settings); // the bound pushes a out
    expect(one.remembered('acme', a, settings)).toBeUndefined();
    expect(one.remembered('acme', b, settings)?.id).toBe('b');
    // Expired (past the leeway): forgotten, also for the header just used.
    const at = clock;
    clock = at + 60 + 31;
    try {
      expect(one.remembered('acme', b, settings)).toBeUndefined();
      expect(one.remembered('acme', b, settings)).toBeUndefined();
    } finally {
      clock = at;
    }
    // Another tenant, or other settings, never take the remembered user.
    await one.verify('acme', a, settings);
    expect(one.remembered('acme', a, settings)?.id).toBe('a');
    expect(one.remembered('other', a, settings)).toBeUndefined();
    expect(one.remembered('acme', a, { alg: 'HS256', secret: 'another-secret-0123456789abcdef0123' })).toBeUndefined();
    expect(one.remembered('acme', a, settings)?.id).toBe('a');
  });
});
