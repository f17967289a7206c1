import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { RedisClient } from '../redis/connection.js';
import { ExecutionObserver } from './execution.js';
import { GatehouseMetrics } from './metrics.js';
import { UsageStore } from './usage.js';

/**
 * What an operator sees of a process besides its answers: Prometheus metrics, usage buckets for
 * the dashboard, and the per-execution observer that feeds both. One per process (services).
 */
export interface Telemetry {
  metrics: GatehouseMetrics;
  usage: UsageStore;
  executions: ExecutionObserver;
}

export function createTelemetry(config: Config, registry: Registry, redis: RedisClient, log: Logger): Telemetry {
  const metrics = new GatehouseMetrics(registry, { maxConnectorSeries: config.metricsMaxConnectorSeries });
  const usage = new UsageStore(redis, log);
  return { metrics, usage, executions: new ExecutionObserver(metrics, usage, config.metricsExecute) };
}
