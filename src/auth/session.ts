import { createRemoteJWKSet, customFetch, errors as joseErrors, jwtVerify, type FetchImplementation, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import type { KeyObject } from 'node:crypto';
import { invalidSession } from './errors.js';
import { checkTimeClaims, hs256Key, TokenRejected, verifyHs256 } from './hs256.js';
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

export interface SessionVerifierOptions {
  /** Verified tokens remembered at most (default 10,000). */
  maxVerified?: number;
  /** How long jose keeps a fetched JWKS (default 10 min); a remembered token never outlives its JWKS. */
  jwksCacheMaxAgeMs?: number;
  /** Least time between two JWKS fetches for an unknown `kid` (default 30 s). */
  jwksCooldownMs?: number;
  /** The clock, in Unix seconds (tests move it). */
  nowS?: () => number;
}

/** A token that verified: what it grants, and what it was verified against. */
interface Verified {
  tenant: string;
  /** The HS256 secret, or the JWKS URL, the token verified with. */
  against: string;
  /** For a JWKS token: the JWKS snapshot it verified against (see JwksSnapshot). */
  jwks: JwksSnapshot | undefined;
  exp: number;
  nbf: number | undefined;
  user: SessionUser;
  /** When it was last put at the end of the remembered tokens (their count of placements then). */
  placed: number;
  /** No longer among the remembered tokens (expired, pushed out by the bound, or replaced). */
  forgotten: boolean;
}

/** A recently used Authorization header and the remembered token it carries. */
interface RecentHeader {
  authorization: string;
  token: string;
  verified: Verified;
}

/** Slots of recently used Authorization headers (a power of two). */
const RECENT_SLOTS = 256;

/**
 * The slot of an Authorization header: from its last characters, the end of the token's signature
 * (base64url of an HMAC or signature, so they spread evenly). Any header maps to some slot; the
 * slot only says where to compare.
 */
function recentSlot(authorization: string): number {
  const n = authorization.length;
  return n < 2 ? 0 : (authorization.charCodeAt(n - 1) * 61 + authorization.charCodeAt(n - 2)) & (RECENT_SLOTS - 1);
}

/** One fetched JWKS document; replaced by the next fetch whose keys differ. */
interface JwksSnapshot {
  body: string;
  /** After this (epoch ms) jose fetches the JWKS again: remembered tokens go back through it. */
  staleAt: number;
}

/**
 * Inbound session verification (docs/runtime.md): `Authorization: Bearer <session JWT>`, HS256 with the
 * tenant's secret or any asymmetric algorithm from the tenant's JWKS (fetched once, cached by jose
 * and refreshed on an unknown `kid`). `exp` is required, 30 s leeway, `tid` must be the tenant.
 * A token that is present but not valid is always an error, never "anonymous".
 *
 * HS256 is verified with node:crypto and a KeyObject made once per secret. A verified token is
 * remembered by its raw text (bounded, least recently used first out; see `remembered`) together with what it was
 * verified against — the tenant, its HS256 secret or JWKS URL, and for JWKS the key-set snapshot,
 * which ends when jose would fetch the set again — and `exp`/`nbf` are checked again on every use.
 * A changed secret, another tenant or a replaced JWKS therefore verifies the token again; failures
 * are never remembered.
 */
export class SessionVerifier {
  private readonly jwks = new Map<string, JWTVerifyGetKey>();
  /** Current snapshot per JWKS URL. */
  private readonly jwksSnapshots = new Map<string, JwksSnapshot>();
  private readonly hmacKeys = new Map<string, KeyObject>();
  private readonly verified = new Map<string, Verified>();
  /** Placements at the end of `verified` so far (see `remembered`). */
  private placements = 0;
  /**
   * The last Authorization header seen in each slot, with its token: a repeat finds its entry with
   * one string comparison, instead of scanning and cutting the header and hashing the token for the
   * map (a freshly received header has no hash yet). Entries found here are checked like any other.
   */
  private readonly recent: (RecentHeader | undefined)[] = new Array<RecentHeader | undefined>(RECENT_SLOTS).fill(undefined);
  private readonly fetchJwks: FetchImplementation;
  private readonly maxVerified: number;
  private readonly jwksCacheMaxAgeMs: number;
  private readonly jwksCooldownMs: number;
  private readonly nowS: () => number;

  /**
   * JWKS URLs come from tenant settings, so they are fetched like any upstream: through the
   * SSRF-guarded client (docs/design.md#address-guard on the address connected, https unless allowed, a size cap).
   */
  constructor(upstream: UpstreamClient, options: SessionVerifierOptions = {}) {
    this.maxVerified = options.maxVerified ?? 10_000;
    this.jwksCacheMaxAgeMs = options.jwksCacheMaxAgeMs ?? 10 * 60_000;
    this.jwksCooldownMs = options.jwksCooldownMs ?? 30_000;
    this.nowS = options.nowS ?? (() => Math.floor(Date.now() / 1000));
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
      if (response.status === 200) this.noteJwks(url, response.body.toString('utf8'));
      return new Response(response.status === 200 ? new Uint8Array(response.body) : null, { status: response.status });
    };
  }

  /**
   * The user of an already verified token, when it is still acceptable as it stands (no promise, no
   * crypto); undefined when the token must go through `verify`.
   */
  remembered(tenant: string, authorization: string | undefined, settings: SessionSettings): SessionUser | undefined {
    if (authorization === undefined || settings === undefined) return undefined;
    const slot = recentSlot(authorization);
    const seen = this.recent[slot];
    let token: string;
    let hit: Verified;
    if (seen !== undefined && !seen.verified.forgotten && seen.authorization === authorization) {
      token = seen.token;
      hit = seen.verified;
    } else {
      const parsed = bearerToken(authorization);
      if (parsed === undefined) return undefined;
      const found = this.verified.get(parsed);
      if (found === undefined) return undefined;
      token = parsed;
      hit = found;
      this.recent[slot] = { authorization, token, verified: hit };
    }
    if (hit.tenant !== tenant || hit.against !== ('secret' in settings ? settings.secret : settings.jwks_url)) return undefined;
    if (hit.jwks !== undefined && (this.jwksSnapshots.get(hit.against) !== hit.jwks || hit.jwks.staleAt <= Date.now())) return undefined;
    const now = this.nowS();
    if (hit.exp <= now - LEEWAY_S || (hit.nbf !== undefined && hit.nbf > now + LEEWAY_S)) {
      this.forget(token, hit);
      return undefined;
    }
    // Least recently used goes first: a hit moves to the end, unless it was put there within the
    // last maxVerified/2 placements — it is then in the newer half, which the bound never reaches
    // before the older one, so a token used that recently is never the one forgotten (moving it on
    // every use cost a delete and an insert per request).
    if (this.placements - hit.placed >= this.maxVerified >> 1) {
      this.verified.delete(token);
      this.verified.set(token, hit);
      hit.placed = ++this.placements;
    }
    return hit.user;
  }

  private forget(token: string, entry: Verified): void {
    entry.forgotten = true;
    if (this.verified.get(token) === entry) this.verified.delete(token);
  }

  async verify(tenant: string, authorization: string | undefined, settings: SessionSettings): Promise<SessionUser | undefined> {
    if (authorization === undefined || authorization.trim() === '') return undefined;
    const token = bearerToken(authorization);
    if (token === undefined) throw invalid('the Authorization header is not "Bearer <session JWT>"');
    if (settings === undefined) throw invalid('this tenant accepts no session tokens (no session settings configured)');
    const known = this.remembered(tenant, authorization, settings);
    if (known !== undefined) return known;
    let payload: JWTPayload;
    let jwks: JwksSnapshot | undefined;
    try {
      if ('secret' in settings) {
        payload = verifyHs256(token, this.hmacKey(settings.secret)) as JWTPayload;
        checkTimeClaims(payload, this.nowS(), LEEWAY_S);
      } else {
        ({ payload } = await jwtVerify(token, this.keySet(settings.jwks_url), {
          algorithms: ASYMMETRIC,
          clockTolerance: LEEWAY_S,
          requiredClaims: ['exp'],
          currentDate: new Date(this.nowS() * 1000),
        }));
        jwks = this.jwksSnapshots.get(settings.jwks_url);
      }
    } catch (err) {
      throw invalid(describe(err));
    }
    if (payload.tid === undefined) throw invalid(`the session token has no "tid" claim: it must name the tenant ("tid": "${tenant}")`);
    if (payload.tid !== tenant) throw invalid('the session token belongs to another tenant (tid)');
    const user = userFromClaims(payload);
    // A JWKS token is remembered only with the snapshot jose used (it is set by the fetch jose made).
    if ('secret' in settings || jwks !== undefined) {
      this.remember(token, { tenant, against: 'secret' in settings ? settings.secret : settings.jwks_url, jwks, exp: payload.exp!, nbf: payload.nbf, user, placed: 0, forgotten: false });
    }
    return user;
  }

  private remember(token: string, entry: Verified): void {
    if (this.maxVerified <= 0) return;
    const replaced = this.verified.get(token);
    if (replaced !== undefined) this.forget(token, replaced);
    while (this.verified.size >= this.maxVerified) {
      const [oldest, dropped] = this.verified.entries().next().value!;
      this.forget(oldest, dropped);
    }
    entry.placed = ++this.placements;
    this.verified.set(token, entry);
  }

  private hmacKey(secret: string): KeyObject {
    let key = this.hmacKeys.get(secret);
    if (key === undefined) {
      key = hs256Key(secret);
      // Tenants × rotations; a bound so a long-running process does not collect old secrets forever.
      if (this.hmacKeys.size >= 1000) this.hmacKeys.delete(this.hmacKeys.keys().next().value!);
      this.hmacKeys.set(secret, key);
    }
    return key;
  }

  /** A JWKS was fetched: a document with other keys starts a new snapshot (tokens verified with the old one verify again). */
  private noteJwks(url: string, body: string): void {
    const current = this.jwksSnapshots.get(url);
    const staleAt = Date.now() + this.jwksCacheMaxAgeMs;
    if (current !== undefined && current.body === body) {
      current.staleAt = staleAt;
      return;
    }
    if (this.jwksSnapshots.size >= 1000) this.jwksSnapshots.delete(this.jwksSnapshots.keys().next().value!);
    this.jwksSnapshots.set(url, { body, staleAt });
  }

  private keySet(url: string): JWTVerifyGetKey {
    let set = this.jwks.get(url);
    if (set === undefined) {
      set = createRemoteJWKSet(new URL(url), {
        cacheMaxAge: this.jwksCacheMaxAgeMs,
        cooldownDuration: this.jwksCooldownMs,
        timeoutDuration: 5_000,
        [customFetch]: this.fetchJwks,
      });
      this.jwks.set(url, set);
    }
    return set;
  }
}

const BEARER = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)\s*$/i;

function bearerToken(authorization: string): string | undefined {
  // The usual form, without a regular expression: "Bearer " and a token of base64url parts.
  if (authorization.startsWith('Bearer ') && isTokenText(authorization, 7)) return authorization.slice(7);
  return BEARER.exec(authorization)?.[1];
}

function isTokenText(text: string, from: number): boolean {
  let dots = 0;
  if (from >= text.length) return false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x2e) {
      // Header and payload must not be empty.
      if (i === from || text.charCodeAt(i - 1) === 0x2e) return false;
      dots++;
    } else if (!((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x5f)) return false;
  }
  return dots === 2;
}

function describe(err: unknown): string {
  if (err instanceof TokenRejected) return err.message;
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
