import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { BadRequestError } from '../../errors.js';
import { parseJsonWithPositions } from '../../registry/json-source.js';
import type { Services } from '../../services.js';
import { adminAuth, auditAdminWrite } from './auth.js';
import { auditRoutes, recordAdminWrite } from './audit.js';
import { cacheAdminRoutes } from './cache.js';
import { connectorRoutes } from './connectors.js';
import { connectorTestRoutes } from './connector-test.js';
import { gitLinkRoutes } from './git-links.js';
import { registerOpenApi } from './openapi.js';
import { queueRoutes } from './queues.js';
import { repositoryRoutes } from './repositories.js';
import { syncRoutes } from './syncs.js';
import { secretRoutes } from './secrets.js';
import { sessionTokenRoutes } from './session-token.js';
import { tenantRoutes } from './tenants.js';
import { templateRoutes } from './templates.js';
import { usageRoutes } from './usage.js';

/**
 * `/admin/v1` (docs/admin-api.md). Every route below is behind the operator token; each route family lives
 * in its own file in this folder and is registered here.
 */
export const adminRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    // Before any route: @fastify/swagger collects the routes registered after it.
    await registerOpenApi(app);
    app.decorateRequest('adminActor', '');
    app.addHook('onRequest', adminAuth(services.config.adminToken));
    app.decorateRequest('auditDetails', null);
    app.decorateRequest('auditTarget', null);
    app.addHook('onResponse', auditAdminWrite);
    app.addHook('onSend', recordAdminWrite(services.audit));
    installJsonParser(app);
    await app.register(cacheAdminRoutes(services));
    await app.register(tenantRoutes(services));
    await app.register(secretRoutes(services));
    await app.register(connectorRoutes(services));
    await app.register(connectorTestRoutes(services));
    await app.register(repositoryRoutes(services));
    await app.register(gitLinkRoutes(services));
    await app.register(syncRoutes(services));
    await app.register(queueRoutes(services));
    await app.register(templateRoutes(services));
    await app.register(sessionTokenRoutes(services));
    await app.register(auditRoutes(services));
    await app.register(usageRoutes(services));
  };

/**
 * JSON bodies for the admin API. Node's own parse error quotes the body text, which may hold a
 * secret value, so a malformed body is answered with position only (docs/design.md#positions:
 * `{"error": {"code": "INVALID_JSON", "message", "line", "column"}}`), never with body text.
 * `__proto__` members are dropped so a parsed body can never carry a prototype.
 */
function installJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    const raw = body as string;
    const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
    try {
      done(null, JSON.parse(text, (key, value: unknown) => (key === '__proto__' ? undefined : value)));
    } catch {
      const parsed = parseJsonWithPositions(raw);
      const where = parsed.ok ? { line: 1, column: 1, message: 'the body is not valid JSON' } : parsed.error;
      done(new BadRequestError('INVALID_JSON', `the request body is not valid JSON: ${where.message} (line ${where.line}, column ${where.column})`, undefined, { line: where.line, column: where.column }), undefined);
    }
  });
}
