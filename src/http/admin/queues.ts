import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.js';
import { ERROR_RESPONSES } from './openapi.js';

/** `GET /queues` (docs/admin-api.md): job counts per queue and state, and how many workers serve each. */

const counts = {
  type: 'object',
  required: ['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'],
  properties: Object.fromEntries(['waiting', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'paused'].map((s) => [s, { type: 'integer' }])),
};

export const queueRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.get(
      '/queues',
      {
        schema: {
          summary: 'Job counts per queue and state',
          tags: ['queues'],
          response: {
            200: {
              type: 'object',
              required: ['items'],
              properties: {
                items: {
                  type: 'array',
                  items: { type: 'object', required: ['name', 'counts', 'workers'], properties: { name: { type: 'string' }, counts, workers: { type: 'integer' } } },
                },
                github_blocked_until: { type: ['string', 'null'], format: 'date-time', description: 'GitHub rate limit: no GitHub call before this time' },
              },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async () => {
        const [items, blocked] = await Promise.all([services.sync.queueCounts(), services.sync.gate.blockedUntil()]);
        return { items, github_blocked_until: blocked > 0 ? new Date(blocked).toISOString() : null };
      },
    );
  };
