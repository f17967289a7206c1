import type { FastifyPluginAsync } from 'fastify';
import { ConnectorNotFoundError } from '../../registry/store.js';
import type { Services } from '../../services.js';
import { ERROR_RESPONSES } from './openapi.js';

/**
 * Usage over time for the dashboard's charts (src/observability/usage.ts): per tenant, per
 * connector, and the queues' depth and throughput. `range` is `hour` (1-minute steps) or `day`
 * (10-minute steps); every process's executions are counted.
 */

const rangeQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { range: { type: 'string', enum: ['hour', 'day'], default: 'hour', description: 'hour: last 60 minutes in 1-minute steps; day: last 24 hours in 10-minute steps' } },
} as const;

const nullableNumber = { type: ['number', 'null'] } as const;
const usageFields = {
  requests: { type: 'integer' },
  errors_4xx: { type: 'integer' },
  errors_5xx: { type: 'integer' },
  cache_lookups: { type: 'integer', description: 'executions that consulted the response cache' },
  cache_hits: { type: 'integer' },
  cache_hit_ratio: { ...nullableNumber, description: 'hits / lookups; null without lookups' },
  p50_ms: { ...nullableNumber, description: 'median latency (from 15 latency buckets, interpolated)' },
  p95_ms: nullableNumber,
} as const;
const usageRequired = Object.keys(usageFields);

const usageReport = (withConnectors: boolean) => ({
  type: 'object',
  required: ['range', 'step_s', 'totals', 'series', ...(withConnectors ? ['connectors'] : [])],
  properties: {
    range: { type: 'string' },
    step_s: { type: 'integer' },
    totals: { type: 'object', required: usageRequired, properties: usageFields },
    series: { type: 'array', items: { type: 'object', required: ['t', ...usageRequired], properties: { t: { type: 'string', format: 'date-time' }, ...usageFields } } },
    ...(withConnectors
      ? { connectors: { type: 'array', items: { type: 'object', required: ['permalink', ...usageRequired], properties: { permalink: { type: 'string' }, ...usageFields } } } }
      : {}),
  },
});

interface RangeQuery {
  range: 'hour' | 'day';
}

export const usageRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    const usage = services.telemetry.usage;

    app.get<{ Params: { tenant: string }; Querystring: RangeQuery }>(
      '/tenants/:tenant/usage',
      {
        schema: {
          summary: 'Executions of a tenant over time: requests, errors, latency percentiles, cache hit ratio, and per-connector totals',
          tags: ['usage'],
          querystring: rangeQuery,
          response: { 200: usageReport(true), ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        await services.tenants.require(request.params.tenant);
        await usage.flush();
        return usage.report(request.params.tenant, request.query.range);
      },
    );

    app.get<{ Params: { tenant: string; permalink: string }; Querystring: RangeQuery }>(
      '/tenants/:tenant/connectors/:permalink/usage',
      {
        schema: {
          summary: 'Executions of one connector over time',
          tags: ['usage'],
          querystring: rangeQuery,
          response: { 200: usageReport(false), ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        const { tenant, permalink } = request.params;
        await services.tenants.require(tenant);
        if ((await services.registry.get(tenant, permalink)) === undefined) throw new ConnectorNotFoundError(tenant, permalink);
        await usage.flush();
        return usage.report(tenant, request.query.range, permalink);
      },
    );

    const queueCounts = { type: 'object', required: ['depth', 'completed', 'failed'], properties: { depth: { type: ['integer', 'null'] }, completed: { type: 'integer' }, failed: { type: 'integer' } } };
    app.get<{ Querystring: RangeQuery }>(
      '/queues/usage',
      {
        schema: {
          summary: 'Queue depth (jobs waiting, delayed or active, sampled by the workers) and jobs finished per step',
          tags: ['queues'],
          querystring: rangeQuery,
          response: {
            200: {
              type: 'object',
              required: ['range', 'step_s', 'series'],
              properties: {
                range: { type: 'string' },
                step_s: { type: 'integer' },
                series: {
                  type: 'array',
                  items: { type: 'object', required: ['t', 'queues'], properties: { t: { type: 'string', format: 'date-time' }, queues: { type: 'object', additionalProperties: queueCounts } } },
                },
              },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (request) => {
        await usage.flush();
        return usage.queueReport(request.query.range, services.sync.queues.all().map((q) => q.name));
      },
    );
  };
