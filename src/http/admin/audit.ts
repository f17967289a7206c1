import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequestError } from '../../errors.js';
import type { AuditLog } from '../../audit/log.js';
import { cleanActorName, MAX_ACTOR_NAME } from '../../audit/model.js';
import type { Services } from '../../services.js';
import { ERROR_RESPONSES, queryValidatorCompiler } from './openapi.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Facts a write handler adds to its audit entry (old and new revision, sync id …): never values. */
    auditDetails: Record<string, unknown> | null;
    /** Names of the object a write handler learnt while handling it (e.g. a created connector's permalink). */
    auditTarget: Record<string, string> | null;
  }
}

/**
 * The audit log's admin side (docs/audit.md): every write of an authenticated operator becomes an
 * entry of its tenant's stream once it is answered, and `GET /audit` reads them back.
 */

/** Admin writes by route, as `<object>.<verb>`. `null`: a POST that changes nothing (a dry run). */
const ACTIONS: Record<string, string | null> = {
  'PUT /admin/v1/tenants/:tenant': 'tenant.put',
  'DELETE /admin/v1/tenants/:tenant': 'tenant.delete',
  'PUT /admin/v1/tenants/:tenant/secrets/:name': 'secret.put',
  'DELETE /admin/v1/tenants/:tenant/secrets/:name': 'secret.delete',
  'PUT /admin/v1/tenants/:tenant/variables/:name': 'variable.put',
  'DELETE /admin/v1/tenants/:tenant/variables/:name': 'variable.delete',
  'POST /admin/v1/tenants/:tenant/connectors': 'connector.create',
  'PUT /admin/v1/tenants/:tenant/connectors/:permalink': 'connector.put',
  'DELETE /admin/v1/tenants/:tenant/connectors/:permalink': 'connector.delete',
  'DELETE /admin/v1/tenants/:tenant/connectors/:permalink/cache': 'cache.purge',
  'PUT /admin/v1/tenants/:tenant/repositories/:owner/:repo': 'repository.link',
  'DELETE /admin/v1/tenants/:tenant/repositories/:owner/:repo': 'repository.unlink',
  'POST /admin/v1/tenants/:tenant/repositories/:owner/:repo/sync': 'repository.resync',
  'POST /admin/v1/tenants/:tenant/repositories/:owner/:repo/rollback': 'repository.rollback',
  'POST /admin/v1/tenants/:tenant/repositories/:owner/:repo/unpin': 'repository.unpin',
  'POST /admin/v1/tenants/:tenant/git/:name/rollback': 'repository.rollback',
  'POST /admin/v1/tenants/:tenant/git/:name/unpin': 'repository.unpin',
  'POST /admin/v1/tenants/:tenant/session-token': 'session-token.create',
  'POST /admin/v1/tenants/:tenant/connectors/test': null,
  'POST /admin/v1/templates/render': null,
};

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * onSend hook: the entry of an admin write, written before the answer leaves, so whoever got the
 * answer finds the entry. Only authenticated operators are
 * recorded (an unauthenticated caller could otherwise push real entries out of the capped stream;
 * those attempts are in the request log). A write route not in ACTIONS is still recorded, under
 * `METHOD route`, so a new route is never silently unaudited.
 */
export function recordAdminWrite(audit: AuditLog) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    if (!WRITE_METHODS.has(request.method) || request.adminActor === '') return payload;
    const route = request.routeOptions.url;
    if (route === undefined) return payload;
    const known = ACTIONS[`${request.method} ${route}`];
    if (known === null) return payload;
    const params = (request.params ?? {}) as Record<string, unknown>;
    const tenant = params.tenant;
    if (typeof tenant !== 'string' || tenant === '') return payload;
    const target: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) {
      if (k === 'tenant' || k === 'owner' || k === 'repo' || typeof v !== 'string') continue;
      target[k] = v.slice(0, 255);
    }
    if (typeof params.owner === 'string' && typeof params.repo === 'string') target.repository = `${params.owner}/${params.repo}`.slice(0, 255);
    if (request.auditTarget !== null) Object.assign(target, request.auditTarget);
    const actorName = cleanActorName(request.headers['x-gatehouse-actor']);
    await audit.record({
      tenant: tenant.slice(0, 255),
      actor: request.adminActor,
      ...(actorName !== undefined ? { actor_name: actorName } : {}),
      action: known ?? `${request.method} ${route.replace(/^\/admin\/v1/, '')}`,
      target,
      status: reply.statusCode,
      ...(request.auditDetails !== null ? { details: request.auditDetails } : {}),
    });
    return payload;
  };
}

const entrySchema = {
  type: 'object',
  required: ['id', 'tenant', 'at', 'actor', 'action', 'target'],
  properties: {
    id: { type: 'string', description: 'stream id `<ms>-<seq>`, ordered by time; pass as `before` to page' },
    tenant: { type: 'string' },
    at: { type: 'string', format: 'date-time' },
    actor: { type: 'string', description: 'admin token fingerprint (`tok:` + 12 hex digits), or `sync` for sync outcomes' },
    actor_name: { type: 'string', description: `the X-Gatehouse-Actor header of the write (≤ ${MAX_ACTOR_NAME} characters), or the pusher of a push` },
    action: { type: 'string', description: '`<object>.<verb>`, e.g. secret.put, connector.put, repository.link, sync.succeeded' },
    target: { type: 'object', additionalProperties: { type: 'string' }, description: 'the object: name, permalink, repository … (never a value)' },
    status: { type: 'integer', description: 'HTTP status the write was answered with' },
    details: { type: 'object', additionalProperties: true, description: 'old/new revision, sync id, commit, plan …' },
  },
} as const;

export const auditRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(queryValidatorCompiler);
    app.get<{ Querystring: { tenant?: string; since?: string; before?: string; action?: string; actor?: string; limit?: number } }>(
      '/audit',
      {
        schema: {
          summary: 'Audit log: admin writes and sync outcomes, newest first',
          tags: ['audit'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              tenant: { type: 'string', minLength: 1, maxLength: 255, description: 'one tenant (default: every tenant)' },
              since: { type: 'string', minLength: 1, maxLength: 64, description: 'entries at or after this instant: RFC 3339, e.g. 2026-12-07T16:00:00Z' },
              before: { type: 'string', pattern: '^[0-9]+-[0-9]+$', description: 'entries older than this entry id (the last id of the previous page)' },
              action: { type: 'string', minLength: 1, maxLength: 100, description: 'actions starting with this text, e.g. `secret.` or `sync.failed`' },
              actor: { type: 'string', minLength: 1, maxLength: MAX_ACTOR_NAME, description: 'one actor: a token fingerprint (`tok:…`), `sync`, or an X-Gatehouse-Actor name, matched exactly' },
              limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
            },
          },
          response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: entrySchema } } }, ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        const q = request.query;
        const sinceMs = q.since === undefined ? undefined : Date.parse(q.since);
        if (sinceMs !== undefined && (Number.isNaN(sinceMs) || !/^\d{4}-\d{2}-\d{2}/.test(q.since!))) {
          throw new BadRequestError('INVALID_REQUEST', `the querystring is invalid: since: "${q.since!.slice(0, 64)}" is not an RFC 3339 date-time (e.g. 2026-12-07T16:00:00Z)`);
        }
        const items = await services.audit.query({
          limit: q.limit ?? 100,
          ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
          ...(sinceMs !== undefined ? { sinceMs } : {}),
          ...(q.before !== undefined ? { before: q.before } : {}),
          ...(q.action !== undefined ? { action: q.action } : {}),
          ...(q.actor !== undefined ? { actor: q.actor } : {}),
        });
        return { items };
      },
    );
  };
