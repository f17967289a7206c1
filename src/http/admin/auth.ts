import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../../errors.js';

/**
 * Operator authentication for /admin/v1: `Authorization: Bearer <GATEHOUSE_ADMIN_TOKEN>`.
 * Both sides are hashed first so the comparison is constant-time whatever the lengths.
 */
export function adminAuth(adminToken: string) {
  const expected = createHash('sha256').update(adminToken).digest();
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
  };
}
