import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { adminErrorBody, adminErrorHandler } from './http/error-handler.js';
import { adminRoutes } from './http/admin/index.js';
import { opsRoutes } from './http/ops.js';
import { GatehouseLogController } from './http/request-log.js';
import { runtimeRoutes } from './http/runtime.js';
import { uiRoutes } from './http/ui.js';
import { runtimeFor } from './runtime/index.js';
import { webhookRoutes } from './http/webhooks.js';
import { requestLogger, type Logger } from './logger.js';
import type { Services } from './services.js';

export interface AppOptions {
  roles: { api: boolean; worker: boolean };
}

/** Composition root of the HTTP surface: one fastify instance, one plugin per route family. */
export async function buildApp(services: Services, options: AppOptions = { roles: { api: true, worker: true } }): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // Request ids are ours, never the caller's: they appear in logs and support tickets.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    logController: new GatehouseLogController({ requestIdLogLabel: 'request_id' }),
    childLoggerFactory: (logger, bindings, opts) => requestLogger(logger as Logger, bindings, opts) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Permalinks may be 255 characters (spec §20); fastify's default (100) would answer 414.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
  });

  // Callback style: an async hook costs every request a promise and a microtask.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.setErrorHandler(adminErrorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send(adminErrorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  await app.register(opsRoutes(services, options.roles));
  if (options.roles.api) {
    await app.register(adminRoutes(services), { prefix: '/admin/v1' });
    await app.register(runtimeRoutes(runtimeFor(services)));
    await app.register(webhookRoutes(services));
    await app.register(uiRoutes());
  }
  return app;
}
