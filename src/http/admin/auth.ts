import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Fingerprint of the operator token that authenticated the request ('' before/without authentication). */
    adminActor: string;
  }
}

/**
 * A short, stable, non-reversible name for an operator token, for audit logs: `tok:` + the first 12
 * hex digits of SHA-256 over a label and the token. Admin tokens are long random strings, so the
 * fingerprint reveals nothing usable, yet tells two tokens apart after a token change.
 */
export function tokenFingerprint(token: string): string {
  return `tok:${createHash('sha256').update('gatehouse admin token fingerprint\n').update(token).digest('hex').slice(0, 12)}`;
}

/**
 * Operator authentication for /admin/v1: `Authorization: Bearer <GATEHOUSE_ADMIN_TOKEN>`.
 * Both sides are hashed first so the comparison is constant-time whatever the lengths.
 */
export function adminAuth(adminToken: string) {
  const expected = createHash('sha256').update(adminToken).digest();
  const fingerprint = tokenFingerprint(adminToken);
  return async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const header = request.headers.authorization;
    if (header === undefined || header.trim() === '') {
      throw new AppError(401, 'UNAUTHENTICATED', 'missing operator token: send "Authorization: Bearer <admin token>"');
    }
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m === null) {
      throw new AppError(401, 'UNAUTHENTICATED', 'malformed Authorization header: expected "Bearer <admin token>"');
    }
    const given = createHash('sha256').update(m[1]!).digest();
    if (!timingSafeEqual(given, expected)) {
      throw new AppError(403, 'FORBIDDEN', 'the operator token is not valid');
    }
    request.adminActor = fingerprint;
  };
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * Audit record of every admin write attempt (onResponse): who (token fingerprint, or
 * `unauthenticated`), what (method, route pattern, its parameters: tenant, name, permalink,
 * repository …) and the outcome status. Never bodies: they carry secret values.
 */
export async function auditAdminWrite(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  if (!WRITE_METHODS.has(request.method)) return;
  const params = (request.params ?? {}) as Record<string, unknown>;
  const target: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (typeof v === 'string') target[k] = v.slice(0, 200);
  request.log.info(
    {
      audit: {
        actor: request.adminActor === '' ? 'unauthenticated' : request.adminActor,
        method: request.method,
        route: request.routeOptions.url ?? request.url.split('?')[0],
        ...target,
        status: reply.statusCode,
      },
    },
    'admin write',
  );
}
