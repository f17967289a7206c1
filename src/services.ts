import { Registry, collectDefaultMetrics } from 'prom-client';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { closeRedis, connectRedis, redisAnswers, type RedisClient } from './redis/connection.js';
import { ResponseCache } from './upstream/cache/index.js';
import { RegistryStore } from './registry/store.js';
import { masterKey } from './secrets/crypto.js';
import { DataKeys } from './secrets/keys.js';
import { SecretStore } from './secrets/store.js';
import { ChangeFeed } from './tenants/changes.js';
import { TenantStore } from './tenants/store.js';
import { SyncService } from './sync/service.js';
import { AuditLog } from './audit/log.js';
import { createTelemetry, type Telemetry } from './observability/index.js';
import { GitSources } from './sync/git-service.js';
import { startTracing, type Tracing } from './observability/tracing.js';

/**
 * The composition of long-lived parts one process needs. Route plugins and workers receive this
 * object; nothing reaches for globals. Each domain adds its store/client here as it lands.
 */
export interface Services {
  config: Config;
  log: Logger;
  /** Registry, secrets, sync state: must not evict. */
  redis: RedisClient;
  /** Response cache and token cache: may evict. Same connection as `redis` when the URLs are equal. */
  cacheRedis: RedisClient;
  redisUrls: { state: string; cache: string };
  metrics: Registry;
  /** Gatehouse's own metrics, usage buckets and the execution observer (src/observability). */
  telemetry: Telemetry;
  /** OpenTelemetry tracing (src/observability/tracing.ts); undefined when off — then nothing of the SDK is loaded. */
  tracing: Tracing | undefined;
  /** HTTP response cache (RFC 9111) in the cache Redis, shared by every process (src/upstream/cache). */
  responseCache: ResponseCache;
  /** Per-tenant change notifications (pub/sub + revision check) for in-memory views (src/tenants/changes.ts). */
  changes: ChangeFeed;
  /** Tenant data keys wrapped by the master key (src/secrets/keys.ts). */
  dataKeys: DataKeys;
  tenants: TenantStore;
  /** Secrets and variables; `resolve()` is the runtime's reader (src/secrets/store.ts). */
  secrets: SecretStore;
  /** Connector registry in Redis: manual CRUD, atomic per-link replacement (src/registry/store.ts). */
  registry: RegistryStore;
  /** GitOps sync: repository links, triggers, history, queues (src/sync/service.ts; workers in workers/). */
  sync: SyncService;
  /** Who changed what: admin writes and sync outcomes, a capped stream per tenant (src/audit/). */
  audit: AuditLog;
  /** Links to any Git host over smart HTTP: links, credentials, webhook fan-out (src/sync/git-service.ts). */
  git: GitSources;
  /** Set by the worker role once its BullMQ workers run; `/readyz` reports it. */
  workersRunning: () => boolean;
  /** Runs registered shutdown steps in reverse order, then closes Redis. */
  close(): Promise<void>;
  onClose(step: () => Promise<void> | void): void;
}

export interface ServiceOptions {
  config: Config;
  log: Logger;
  stateUrl: string;
  cacheUrl: string;
}

export async function createServices(options: ServiceOptions): Promise<Services> {
  const { config, log, stateUrl, cacheUrl } = options;
  const ca = config.redisCa;
  const redis = connectRedis(stateUrl, { connectionName: 'gatehouse:state', ca });
  const cacheRedis = cacheUrl === stateUrl ? redis : connectRedis(cacheUrl, { connectionName: 'gatehouse:cache', ca });
  for (const [name, client] of [['state', redis], ['cache', cacheRedis]] as const) {
    client.on('error', (err: Error) => log.warn({ err: { message: err.message }, redis: name }, 'redis connection error'));
  }
  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics, prefix: 'gatehouse_' });

  const telemetry = createTelemetry(config, metrics, cacheRedis, log);

  // Runs last (steps run in reverse): the usage counts of the final requests reach Redis.
  const closers: (() => Promise<void> | void)[] = [() => telemetry.usage.close()];
  const tracing = await startTracing(config, telemetry.metrics, log);
  // Runs late: the spans of the last requests and jobs are sent (bounded wait).
  if (tracing !== undefined) closers.push(() => tracing.shutdown());
  const changes = new ChangeFeed(redis, log);
  const dataKeys = new DataKeys(redis, masterKey(config.masterKey));
  const tenants = new TenantStore(redis, dataKeys, changes, { allowHttp: config.upstreamAllowHttp, allowCidrs: config.upstreamAllowCidrs });
  closers.push(() => changes.close(), () => tenants.close());
  let closing: Promise<void> | undefined;
  const secrets = new SecretStore(redis, dataKeys, changes);
  const sync = new SyncService({ config, log, redis, tenants, metrics, stateUrl, registry: () => services.registry, git: () => services.git });
  const git = new GitSources({
    config, log, redis, tenants, secrets, registry: () => services.registry,
    coordinator: sync.coordinator, history: sync.history, queues: sync.queues, unlinkWaitMs: () => sync.settings.unlinkWaitMs,
    pollTickMs: () => sync.settings.gitPollTickMs,
    rollback: () => sync.rollbackDeps(),
  });
  const services: Services = {
    config,
    log,
    redis,
    cacheRedis,
    redisUrls: { state: stateUrl, cache: cacheUrl },
    metrics,
    telemetry,
    tracing,
    responseCache: new ResponseCache({ redis: cacheRedis, metrics, log, upstreamTimeoutMs: config.upstreamTimeoutMs }),
    changes,
    dataKeys,
    tenants,
    secrets,
    registry: new RegistryStore(redis, changes),
    sync,
    git,
    audit: new AuditLog(redis, log, config.auditMaxEntries),
    workersRunning: () => false,
    onClose(step) {
      closers.push(step);
    },
    close() {
      closing ??= (async () => {
        for (const step of closers.reverse()) {
          try {
            await step();
          } catch (err) {
            log.warn({ err: { message: (err as Error).message } }, 'shutdown step failed');
          }
        }
        await closeRedis(redis);
        if (cacheRedis !== redis) await closeRedis(cacheRedis);
      })();
      return closing;
    },
  };
  closers.push(() => services.sync.close(), () => git.close());
  telemetry.metrics.queueSource = () => services.sync.jobCounts();
  return services;
}

export async function redisReady(services: Services): Promise<{ state: boolean; cache: boolean }> {
  const [state, cache] = await Promise.all([
    redisAnswers(services.redis),
    services.cacheRedis === services.redis ? Promise.resolve(true) : redisAnswers(services.cacheRedis),
  ]);
  return { state, cache: services.cacheRedis === services.redis ? state : cache };
}
