import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import type { Config } from '../config.js';
import { OutboundAuth } from '../auth/outbound.js';
import { SessionVerifier } from '../auth/session.js';
import { TokenCache } from '../auth/token-cache.js';
import { compileConnector, type CompiledConnector } from '../registry/compile.js';
import { RegistryView } from '../registry/view.js';
import { ValuesInMemory } from '../secrets/memory.js';
import type { Services } from '../services.js';
import { UpstreamClient } from '../upstream/client.js';
import type { CacheSlot, RuntimeDeps, StageObserver } from './context.js';
import { RateLimiter } from './rate-limit.js';

export interface RuntimeParts {
  config: Config;
  log: Logger;
  cacheRedis: RedisClient;
  tenants: RuntimeDeps['tenants'];
  values: RuntimeDeps['values'];
  /** The process's registry view, compiling with `compileConnector`. */
  connectors: RuntimeDeps['connectors'];
  cache: CacheSlot | undefined;
  /** Share one client (and its connection pools) with other users, e.g. the cache. */
  upstream?: UpstreamClient;
  /** Token cache counters (src/observability/metrics.ts). */
  tokenMetrics?: import('../auth/token-cache.js').TokenCacheMetrics;
}

export interface Runtime extends RuntimeDeps {
  /** Tells `observer` of every pipeline stage run, with its duration; returns the way to stop. */
  observeStages(observer: StageObserver): () => void;
  close(): Promise<void>;
}

/** The runtime's long-lived parts for one process. */
export function createRuntime(parts: RuntimeParts): Runtime {
  const upstream = parts.upstream ?? UpstreamClient.fromConfig(parts.config);
  const tokens = new TokenCache(parts.cacheRedis, parts.config.masterKey, { lockMs: parts.config.upstreamTimeoutMs + 2000, ...(parts.tokenMetrics !== undefined ? { metrics: parts.tokenMetrics } : {}) });
  const stageObservers: StageObserver[] = [];
  return {
    log: parts.log,
    upstream,
    auth: new OutboundAuth(upstream, tokens),
    sessions: new SessionVerifier(upstream),
    tenants: parts.tenants,
    connectors: parts.connectors,
    values: parts.values,
    cache: parts.cache,
    rateLimiter: new RateLimiter(parts.cacheRedis),
    stageObservers,
    observeStages(observer) {
      stageObservers.push(observer);
      return () => {
        const i = stageObservers.indexOf(observer);
        if (i !== -1) stageObservers.splice(i, 1);
      };
    },
    async close() {
      if (parts.upstream === undefined) await upstream.close();
    },
  };
}

const perServices = new WeakMap<object, Runtime>();

/**
 * The runtime of a process, created on first use from its services (the route plugin and Test
 * Connection share it, and with it the token cache, connection pools and compiled registry view).
 */
export function runtimeFor(services: Services): Runtime {
  let runtime = perServices.get(services);
  if (runtime === undefined) {
    const view = new RegistryView(services.registry, compileConnector, { entry: (_stored, compiled) => ({ compiled }) });
    const values = new ValuesInMemory(services.secrets, services.changes);
    runtime = createRuntime({
      config: services.config,
      log: services.log,
      cacheRedis: services.cacheRedis,
      tenants: services.tenants,
      values,
      connectors: view,
      cache: services.responseCache,
      tokenMetrics: services.telemetry.metrics,
    });
    const r = runtime;
    services.onClose(async () => {
      view.close();
      values.close();
      await r.close();
    });
    perServices.set(services, runtime);
  }
  return runtime;
}
