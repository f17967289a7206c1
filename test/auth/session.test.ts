import { generateKeyPairSync } from 'node:crypto';
import { exportJWK, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionVerifier } from '../../src/auth/session.js';
import { parseCidrList } from '../../src/config.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { createUpstreamDispatcher } from '../../src/upstream/dispatcher.js';
import { createAddressGuard } from '../../src/upstream/guard.js';
import { startUpstream, type TestUpstream } from '../support/upstream.js';

const SECRET = 'tenant-session-secret-0123456789';
const hs = (claims: Record<string, unknown>, secret = SECRET) =>
  new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(secret));
const now = () => Math.floor(Date.now() / 1000);

/** The runtime's upstream client: loopback allowed (as tests configure it) or not (the default). */
function upstreamClient(allowCidrs: string): UpstreamClient {
  const guard = createAddressGuard(parseCidrList(allowCidrs, []));
  return new UpstreamClient({ timeoutMs: 2000, allowHttp: true, guard, dispatcher: createUpstreamDispatcher({ guard, extraCa: undefined, timeoutMs: 2000 }) });
}

describe('inbound session verification (docs/sdk.md#session-tokens)', () => {
  const allowingLoopback = upstreamClient('127.0.0.0/8,::1/128');
  const verifier = new SessionVerifier(allowingLoopback);
  const settings = { alg: 'HS256' as const, secret: SECRET };
  let jwks: TestUpstream;
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  beforeAll(async () => {
    jwks = await startUpstream();
    const keys = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
      { ...(await exportJWK(ec.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
    ];
    jwks.route('/.well-known/jwks.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
  });
  afterAll(async () => {
    await jwks.close();
    await allowingLoopback.close();
  });

  it('no token → anonymous (undefined)', async () => {
    expect(await verifier.verify('acme', undefined, settings)).toBeUndefined();
    expect(await verifier.verify('acme', '', settings)).toBeUndefined();
  });

  it('maps claims to user.* (sub → id, profile_fields keyed by id string)', async () => {
    const token = await hs({ tid: 'acme', sub: 'u-42', email: 'jo@example.com', first_name: 'Jo', last_name: 'Doe', username: 'jo', profile_fields: { 42: 'Sales' }, exp: now() + 60 });
    const user = await verifier.verify('acme', `Bearer ${token}`, settings);
    expect(user).toEqual({ id: 'u-42', email: 'jo@example.com', first_name: 'Jo', last_name: 'Doe', username: 'jo', profile_fields: { '42': 'Sales' } });
  });

  it('missing claims become None (null)', async () => {
    const user = await verifier.verify('acme', `Bearer ${await hs({ tid: 'acme', sub: 'u', exp: now() + 60 })}`, settings);
    expect(user).toMatchObject({ email: null, first_name: null, profile_fields: {} });
  });

  const bad: [string, () => Promise<string>][] = [
    ['expired beyond the 30 s leeway', () => hs({ tid: 'acme', sub: 'u', exp: now() - 60 })],
    ['without exp', () => hs({ tid: 'acme', sub: 'u' })],
    ['for another tenant', () => hs({ tid: 'other', sub: 'u', exp: now() + 60 })],
    ['without tid', () => hs({ sub: 'u', exp: now() + 60 })],
    ['signed with another secret', () => hs({ tid: 'acme', sub: 'u', exp: now() + 60 }, 'another-secret-entirely-000000')],
    ['not yet valid (nbf beyond leeway)', () => hs({ tid: 'acme', sub: 'u', exp: now() + 600, nbf: now() + 300 })],
    ['garbage', async () => 'abc.def.ghi'],
  ];
  for (const [name, make] of bad) {
    it(`a token ${name} → 401 INVALID_SESSION (never anonymous)`, async () => {
      await expect(verifier.verify('acme', `Bearer ${await make()}`, settings)).rejects.toMatchObject({ status: 401, code: 'INVALID_SESSION' });
    });
  }

  it('a token without tid is told so (not "another tenant"); a foreign tid names the other case', async () => {
    await expect(verifier.verify('acme', `Bearer ${await hs({ sub: 'u', exp: now() + 60 })}`, settings)).rejects.toMatchObject({
      code: 'INVALID_SESSION',
      message: 'the session token has no "tid" claim: it must name the tenant ("tid": "acme")',
    });
    await expect(verifier.verify('acme', `Bearer ${await hs({ tid: 'other', sub: 'u', exp: now() + 60 })}`, settings)).rejects.toMatchObject({
      message: 'the session token belongs to another tenant (tid)',
    });
  });

  it('accepts a token expired within the 30 s leeway', async () => {
    const user = await verifier.verify('acme', `Bearer ${await hs({ tid: 'acme', sub: 'u', exp: now() - 10 })}`, settings);
    expect(user?.id).toBe('u');
  });

  it('a non-Bearer Authorization header is INVALID_SESSION', async () => {
    await expect(verifier.verify('acme', 'Basic dXNlcjpwYXNz', settings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
  });

  it('a tenant without session settings rejects any token', async () => {
    await expect(verifier.verify('acme', `Bearer ${await hs({ tid: 'acme', exp: now() + 60 })}`, undefined)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
  });

  it('verifies RS256 and ES256 tokens against the tenant JWKS; alg none and HS256 are refused there', async () => {
    const jwksSettings = { jwks_url: `${jwks.url}/.well-known/jwks.json` };
    const rsToken = await new SignJWT({ tid: 'acme', sub: 'r', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey);
    const esToken = await new SignJWT({ tid: 'acme', sub: 'e', exp: now() + 60 }).setProtectedHeader({ alg: 'ES256', kid: 'ec-1' }).sign(ec.privateKey);
    expect((await verifier.verify('acme', `Bearer ${rsToken}`, jwksSettings))?.id).toBe('r');
    expect((await verifier.verify('acme', `Bearer ${esToken}`, jwksSettings))?.id).toBe('e');
    const fetches = jwks.requests.length;
    await verifier.verify('acme', `Bearer ${rsToken}`, jwksSettings);
    expect(jwks.requests.length).toBe(fetches); // cached
    await expect(verifier.verify('acme', `Bearer ${await hs({ tid: 'acme', exp: now() + 60 })}`, jwksSettings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ tid: 'acme', exp: now() + 60 })).toString('base64url')}.`;
    await expect(verifier.verify('acme', `Bearer ${unsigned}`, jwksSettings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
    await expect(verifier.verify('acme', `Bearer ${unsigned}`, settings)).rejects.toMatchObject({ code: 'INVALID_SESSION' });
  });

  it('fetches the JWKS through the SSRF guard: a tenant JWKS URL on a blocked address is never requested', async () => {
    const guarded = upstreamClient('');
    try {
      const strict = new SessionVerifier(guarded);
      const token = await new SignJWT({ tid: 'acme', sub: 'r', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey);
      const before = jwks.requests.length;
      const port = new URL(jwks.url).port;
      // an IP literal, and a name that resolves to loopback
      for (const url of [`${jwks.url}/.well-known/jwks.json`, `http://localhost:${port}/.well-known/jwks.json`]) {
        await expect(strict.verify('acme', `Bearer ${token}`, { jwks_url: url })).rejects.toMatchObject({
          status: 401,
          code: 'INVALID_SESSION',
          message: 'the tenant JWKS could not be loaded: its URL points at a blocked destination',
        });
      }
      expect(jwks.requests.length).toBe(before);
    } finally {
      await guarded.close();
    }
  });

  it('a JWKS endpoint answering non-200, non-JSON or an oversized body → INVALID_SESSION "could not be loaded"', async () => {
    jwks.route('/missing.json', (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{}');
    });
    jwks.route('/html.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>login</html>');
    });
    jwks.route('/huge.json', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [], pad: 'x'.repeat(600 * 1024) }));
    });
    const token = await new SignJWT({ tid: 'acme', sub: 'r', exp: now() + 60 }).setProtectedHeader({ alg: 'RS256', kid: 'rsa-1' }).sign(rsa.privateKey);
    for (const path of ['/missing.json', '/html.json', '/huge.json']) {
      await expect(verifier.verify('acme', `Bearer ${token}`, { jwks_url: `${jwks.url}${path}` })).rejects.toMatchObject({
        code: 'INVALID_SESSION',
        message: expect.stringMatching(/^the tenant JWKS could not be loaded/),
      });
    }
  });
});
