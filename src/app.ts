import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { adminErrorBody, adminErrorHandler } from './http/error-handler.js';
import { adminRoutes } from './http/admin/index.js';
import { opsRoutes } from './http/ops.js';
import { GatehouseLogController } from './http/request-log.js';
import { runtimeFallback, runtimeRoutes } from './http/runtime.js';
import { schemaRoutes } from './http/schemas.js';
import { sdkRoutes } from './http/sdk.js';
import { uiRoutes } from './http/ui.js';
import { runtimeFor } from './runtime/index.js';
import { webhookRoutes } from './http/webhooks.js';
import { gitWebhookRoutes } from './http/webhooks-git.js';
import { requestLogger, type Logger } from './logger.js';
import { serializersOnFirstUse } from './http/schema-compilers.js';
import type { Services } from './services.js';

export interface AppOptions {
  roles: { api: boolean; worker: boolean };
}

/** Composition root of the HTTP surface: one fastify instance, one plugin per route family. */
export async function buildApp(services: Services, options: AppOptions = { roles: { api: true, worker: true } }): Promise<FastifyInstance> {
  const runtime = options.roles.api ? runtimeFor(services) : undefined;
  const fallback = runtime === undefined ? undefined : runtimeFallback(runtime, services.telemetry, services.tracing);
  const app = Fastify({
    loggerInstance: services.log as FastifyBaseLogger,
    // Request ids are ours, never the caller's: they appear in logs and support tickets.
    genReqId: () => randomUUID(),
    requestIdHeader: false,
    logController: new GatehouseLogController({ requestIdLogLabel: 'request_id', logRequests: services.config.logRequests }),
    childLoggerFactory: (logger, bindings, opts) => requestLogger(logger as Logger, bindings, opts) as FastifyBaseLogger,
    bodyLimit: 1024 * 1024,
    // Response serializers are built on each route's first answer, not at start-up (schema-compilers.ts).
    schemaController: { compilersFactory: { buildSerializer: serializersOnFirstUse() } },
    // Permalinks may be 255 characters (docs/registry.md); fastify's default (100) would answer 414.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: false,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    // URLs the router cannot take (undecodable percent-encoding, a segment over maxParamLength):
    // still an answer with a request id, and on execute URLs the runtime's envelope and headers.
    frameworkErrors: (error, req, res) => {
      const request = req as unknown as FastifyRequest;
      const reply = res as unknown as FastifyReply;
      const status = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const generic = () => {
        reply.code(status).header('x-request-id', request.id).send(adminErrorBody(status === 414 ? 'URI_TOO_LONG' : 'BAD_URL', error.message));
      };
      if (fallback === undefined) return generic();
      fallback(request, reply, 'bad-url').then(
        (handled) => (handled ? undefined : generic()),
        () => generic(),
      );
    },
  });

  app.decorateRequest('execution', null);
  // Callback style: an async hook costs every request a promise and a microtask.
  app.addHook('onRequest', (request, reply, done) => {
    reply.header('x-request-id', request.id);
    done();
  });
  app.setErrorHandler(adminErrorHandler);
  app.setNotFoundHandler(async (request, reply) => {
    if (fallback !== undefined && (await fallback(request, reply, 'not-found'))) return reply;
    return reply.code(404).send(adminErrorBody('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}`));
  });

  await app.register(opsRoutes(services, options.roles));
  if (options.roles.api) {
    await app.register(adminRoutes(services), { prefix: '/admin/v1' });
    await app.register(runtimeRoutes(runtime!, services.telemetry, services.tracing));
    await app.register(webhookRoutes(services));
    await app.register(gitWebhookRoutes(services));
    await app.register(uiRoutes());
    await app.register(sdkRoutes());
    await app.register(schemaRoutes(services.config.publicUrl));
  }
  return app;
}
