import type { FastifyInstance } from 'fastify';
import { buildApp } from './app.js';
import { loadConfig, type Config, type Role } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { resolveRedis, type EmbeddedRedis } from './redis/embedded.js';
import { createServices, type Services } from './services.js';
import { reportListening, reportRedis } from './startup-report.js';
import { startSyncWorkers } from '../workers/sync-worker.js';

export interface RunningService {
  app: FastifyInstance | undefined;
  services: Services;
  embedded: EmbeddedRedis | undefined;
  address: string | undefined;
  stop(): Promise<void>;
}

export interface ServeOptions {
  role: Role;
  config?: Config;
  log?: Logger;
  /** Install SIGTERM/SIGINT handlers (the CLI does; tests starting in-process do not). */
  handleSignals?: boolean;
}

/** `gatehouse serve`: API and/or workers in this process (README.md). */
export async function serve(options: ServeOptions): Promise<RunningService> {
  const config = options.config ?? loadConfig();
  const log = options.log ?? createLogger(config.logLevel);
  const roles = { api: options.role !== 'worker', worker: options.role !== 'api' };

  const resolved = await resolveRedis(config, config.embeddedProbe);
  reportRedis(log, config, resolved);
  const services = await createServices({ config, log, stateUrl: resolved.stateUrl, cacheUrl: resolved.cacheUrl });
  // Worker processes run the sync queues; services.close() stops them gracefully (jobs finish first).
  if (roles.worker) await startSyncWorkers(services);

  let app: FastifyInstance | undefined;
  let address: string | undefined;
  // The ops endpoints run in every role, so orchestrators can probe worker processes too.
  app = await buildApp(services, { roles });
  address = await app.listen({ port: config.port, host: config.host });

  reportListening(log, config, { address, api: roles.api });
  log.info({ address, roles: options.role }, 'gatehouse is listening');

  let stopping: Promise<void> | undefined;
  const stop = () => {
    stopping ??= (async () => {
      log.info('shutting down');
      if (app !== undefined) await app.close();
      await services.close();
      if (resolved.embedded !== undefined) await resolved.embedded.stop();
    })();
    return stopping;
  };

  if (options.handleSignals === true) {
    const onSignal = (signal: NodeJS.Signals) => {
      log.info({ signal }, 'signal received');
      const force = setTimeout(() => process.exit(1), 15_000);
      force.unref();
      stop().then(
        () => process.exit(0),
        (err: unknown) => {
          log.error({ err }, 'shutdown failed');
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  }

  return { app, services, embedded: resolved.embedded, address, stop };
}
