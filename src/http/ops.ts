import type { FastifyPluginAsync } from 'fastify';
import { redisReady, type Services } from '../services.js';

/** Operations endpoints (README.md#health-readiness-and-outages): liveness, readiness, Prometheus metrics. */
export const opsRoutes = (services: Services, roles: { api: boolean; worker: boolean }): FastifyPluginAsync =>
  async (app) => {
    // X-Gatehouse-Pid tells an operator which process of `serve --processes N` answered.
    app.get('/healthz', { logLevel: 'warn' }, async (_request, reply) => {
      reply.header('x-gatehouse-pid', String(process.pid));
      return { status: 'ok' };
    });

    // Ready = the state Redis answers and the workers (if this process runs them) are up. The cache
    // Redis may evict and may be a separate server: without it responses are served uncached
    // (X-Cache: BYPASS), so it makes the process "degraded", not unready — pulling every instance
    // out of a load balancer because a cache is gone would turn a slowdown into an outage.
    app.get('/readyz', { logLevel: 'warn' }, async (_request, reply) => {
      const redis = await redisReady(services);
      const workers = roles.worker ? services.workersRunning() : null;
      const ready = redis.state && workers !== false;
      reply.code(ready ? 200 : 503);
      return { status: ready ? (redis.cache ? 'ready' : 'degraded') : 'not_ready', redis, workers };
    });

    app.get('/metrics', { logLevel: 'warn' }, async (_request, reply) => {
      reply.header('content-type', services.metrics.contentType);
      return services.metrics.metrics();
    });
  };
