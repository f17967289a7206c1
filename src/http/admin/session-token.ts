import type { FastifyPluginAsync } from 'fastify';
import { SignJWT } from 'jose';
import { BadRequestError, ConflictError } from '../../errors.js';
import type { Services } from '../../services.js';
import { TenantNotFoundError } from '../../tenants/store.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';
import { tenantParams } from './tenants.js';

/**
 * Development session tokens (extension, `gatehouse session-token`): a JWT signed on the server
 * with the tenant's HS256 session secret, so a widget developer can call user-aware connectors
 * without an identity provider and without the secret ever leaving Gatehouse. Tenants verifying
 * with a JWKS are refused: Gatehouse holds no private key for them.
 */

/** A development token lives at most a day. */
export const MAX_SESSION_TOKEN_TTL_S = 86_400;
/** Claims the server sets itself; a caller's value would contradict what the token is for. */
const RESERVED = ['tid', 'exp', 'iat', 'nbf'];

interface SessionTokenBody {
  sub: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  username?: string;
  profile_fields?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  ttl_s?: number;
}

const text = { type: 'string', minLength: 1, maxLength: 1024 } as const;

const body = {
  type: 'object',
  required: ['sub'],
  additionalProperties: false,
  properties: {
    sub: { ...text, description: 'the user id (template variable user.id)' },
    email: text,
    first_name: text,
    last_name: text,
    username: text,
    profile_fields: { type: 'object', description: 'keyed by the numeric profile field id, e.g. {"42": "Sales"} (user.profile_fields.by_id(42))' },
    claims: { type: 'object', description: 'further claims; tid, exp, iat and nbf are set by the server' },
    ttl_s: { type: 'integer', minimum: 1, maximum: MAX_SESSION_TOKEN_TTL_S, description: `lifetime in seconds (default 3600, at most ${MAX_SESSION_TOKEN_TTL_S})` },
  },
} as const;

export const sessionTokenRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);
    app.post<{ Params: { tenant: string }; Body: SessionTokenBody }>(
      '/tenants/:tenant/session-token',
      {
        schema: {
          summary: 'Sign a development session token (extension)',
          description: "Signs a session JWT with the tenant's HS256 secret (tid = the tenant, exp = now + ttl_s). 409 SESSION_NOT_HS256 for tenants that verify with a JWKS or have no session settings.",
          tags: ['tenants'],
          params: tenantParams,
          body,
          response: {
            200: {
              type: 'object',
              required: ['token', 'expires_at', 'claims'],
              properties: { token: { type: 'string' }, expires_at: { type: 'string' }, claims: { type: 'object', additionalProperties: true } },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (request, reply) => {
        const id = request.params.tenant;
        const tenant = await services.tenants.get(id);
        if (tenant === undefined) throw new TenantNotFoundError(id);
        const session = tenant.session;
        if (session === undefined || session === null || !('secret' in session)) {
          const how = session !== undefined && session !== null && 'jwks_url' in session ? `verifies session tokens with the JWKS at ${session.jwks_url}` : 'has no session settings';
          throw new ConflictError(
            'SESSION_NOT_HS256',
            `tenant "${id}" ${how}: Gatehouse can only sign development tokens for an HS256 tenant. ` +
              'Sign tokens with your identity provider, or give the tenant an HS256 secret (PUT /admin/v1/tenants/{tenant} with session {"alg": "HS256", "secret": …}).',
          );
        }
        const b = request.body;
        const extra = b.claims ?? {};
        const reserved = RESERVED.filter((name) => name in extra);
        if (reserved.length > 0) {
          throw new BadRequestError('RESERVED_CLAIM', `claims may not set ${reserved.join(', ')}: the server sets tid to the tenant and exp from ttl_s`, reserved.map((name) => ({ path: `/body/claims/${name}`, message: 'is set by the server' })));
        }
        const now = Math.floor(Date.now() / 1000);
        const exp = now + (b.ttl_s ?? 3600);
        const claims: Record<string, unknown> = { ...extra, sub: b.sub, tid: id, iat: now, exp };
        for (const name of ['email', 'first_name', 'last_name', 'username', 'profile_fields'] as const) {
          if (b[name] !== undefined) claims[name] = b[name];
        }
        const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).sign(new TextEncoder().encode(session.secret));
        // A bearer credential: never stored by a cache between here and the developer.
        reply.header('cache-control', 'no-store');
        return { token, expires_at: new Date(exp * 1000).toISOString(), claims };
      },
    );
  };
