import type { FastifyPluginAsync } from 'fastify';
import { AppError } from '../../errors.js';
import type { Services } from '../../services.js';

/**
 * `DELETE /admin/v1/tenants/{tenant}/connectors/{permalink}/cache` — drops every cached upstream
 * response of one connector, on every process at once (docs/cache.md). Idempotent: a connector
 * without entries (or one that no longer exists) answers `removed: 0`, so an operator can purge the
 * leftovers of a deleted connector too.
 */
export const cacheAdminRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.delete<{ Params: { tenant: string; permalink: string } }>(
      '/tenants/:tenant/connectors/:permalink/cache',
      {
        schema: {
          params: {
            type: 'object',
            required: ['tenant', 'permalink'],
            properties: {
              tenant: { type: 'string', minLength: 1, maxLength: 255 },
              permalink: { type: 'string', minLength: 1, maxLength: 255 },
            },
          },
        },
      },
      async (request) => {
        const { tenant, permalink } = request.params;
        try {
          const { generation, removed } = await services.responseCache.purge(tenant, permalink);
          request.log.info({ tenant, permalink, generation, removed }, 'response cache purged');
          request.auditDetails = { removed, generation };
          return { tenant, permalink, generation, removed };
        } catch (err) {
          throw new AppError(503, 'CACHE_UNAVAILABLE', `the cache Redis did not answer (${(err as Error).message}); nothing was purged, retry`);
        }
      },
    );
  };
