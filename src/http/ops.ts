import type { FastifyPluginAsync } from 'fastify';
import { redisReady, type Services } from '../services.js';

/** Operations endpoints (api.md §6): liveness, readiness, Prometheus metrics. */
export const opsRoutes = (services: Services, roles: { api: boolean; worker: boolean }): FastifyPluginAsync =>
  async (app) => {
    app.get('/healthz', { logLevel: 'warn' }, async () => ({ status: 'ok' }));

    app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
      const redis = await redisReady(services);
      const workers = roles.worker ? services.workersRunning() : null;
      const ready = redis.state && redis.cache && workers !== false;
      reply.code(ready ? 200 : 503);
      return { status: ready ? 'ready' : 'not_ready', redis, workers };
    });

    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
      reply.header('content-type', services.metrics.contentType);
      return services.metrics.metrics();
    });
  };
