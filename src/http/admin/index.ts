import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.js';
import { adminAuth } from './auth.js';
import { cacheAdminRoutes } from './cache.js';

/**
 * `/admin/v1` (api.md §5). Every route below is behind the operator token; each route family lives
 * in its own file in this folder and is registered here.
 */
export const adminRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.addHook('onRequest', adminAuth(services.config.adminToken));
    await app.register(cacheAdminRoutes(services));
  };
