import { createHash } from 'node:crypto';
import type { FastifyPluginAsync } from 'fastify';
import { REGISTRY_SCHEMA } from '../registry/schema.js';
import { matchesEtag } from './ui.js';

/**
 * The registry file's JSON Schema at a stable address, `/schemas/connectors_registry.schema.json`,
 * so a registry file can name it in `"$schema"` and editors validate while typing. With PUBLIC_URL
 * its `$id` is that address (a schema's `$id` is where it lives); without, the schema keeps its URN
 * (the service does not know its public address). Public: the schema is part of the file format,
 * and editors fetch it from any origin. Built once at start-up.
 */

export const REGISTRY_SCHEMA_PATH = '/schemas/connectors_registry.schema.json';

export function servedRegistrySchema(publicUrl: string | undefined): Record<string, unknown> {
  return publicUrl === undefined ? REGISTRY_SCHEMA : { ...REGISTRY_SCHEMA, $id: `${publicUrl}${REGISTRY_SCHEMA_PATH}` };
}

export const schemaRoutes = (publicUrl: string | undefined): FastifyPluginAsync =>
  async (app) => {
    const body = Buffer.from(`${JSON.stringify(servedRegistrySchema(publicUrl), null, 2)}\n`);
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    app.get(REGISTRY_SCHEMA_PATH, { logLevel: 'warn' }, async (request, reply) => {
      reply.headers({
        'content-type': 'application/schema+json; charset=utf-8',
        // Short freshness, then revalidation: a release may change the schema at the same address.
        'cache-control': 'public, max-age=300',
        etag,
        'access-control-allow-origin': '*',
        'x-content-type-options': 'nosniff',
      });
      if (matchesEtag(request.headers['if-none-match'], etag)) return reply.code(304).send();
      return reply.send(body);
    });
  };
