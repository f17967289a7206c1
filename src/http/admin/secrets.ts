import type { FastifyPluginAsync } from 'fastify';
import { MAX_VALUE_BYTES, VALUE_NAME_PATTERN, type ValueKind } from '../../secrets/store.js';
import type { Services } from '../../services.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';
import { tenantParams } from './tenants.js';

/**
 * Secrets and variables (docs/admin-api.md#secrets-and-variables, docs/design.md#secrets-and-variables): `PUT …/{secrets|variables}/{name}`
 * `{value}` (201 created, 200 updated), `GET …/{secrets|variables}` (`{items}`), `DELETE …/{name}` (204).
 * Secret values are write-only: responses carry `masked` (first character + nine `*`).
 */

const itemSchemas: Record<ValueKind, object> = {
  secret: {
    type: 'object',
    required: ['name', 'kind', 'masked', 'updated_at'],
    properties: {
      name: { type: 'string' },
      kind: { type: 'string', enum: ['secret'] },
      masked: { type: 'string', description: 'first character of the value followed by exactly nine "*"' },
      updated_at: { type: 'string', format: 'date-time' },
    },
  },
  variable: {
    type: 'object',
    required: ['name', 'kind', 'value', 'updated_at'],
    properties: {
      name: { type: 'string' },
      kind: { type: 'string', enum: ['variable'] },
      value: { type: 'string' },
      updated_at: { type: 'string', format: 'date-time' },
    },
  },
};

const nameParams = {
  type: 'object',
  required: ['tenant', 'name'],
  properties: {
    ...tenantParams.properties,
    name: { type: 'string', description: `${VALUE_NAME_PATTERN.source}, case-sensitive; one namespace for secrets and variables` },
  },
} as const;

export const secretRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);

    for (const [segment, kind] of [['secrets', 'secret'], ['variables', 'variable']] as const) {
      const item = itemSchemas[kind];
      const tag = 'secrets and variables';

      app.put<{ Params: { tenant: string; name: string }; Body: { value: string } }>(
        `/tenants/:tenant/${segment}/:name`,
        {
          schema: {
            summary: `Create or update a ${kind}`,
            tags: [tag],
            params: nameParams,
            body: {
              type: 'object',
              required: ['value'],
              additionalProperties: false,
              properties: { value: { type: 'string', description: `non-empty, at most ${MAX_VALUE_BYTES} bytes${kind === 'secret' ? '; write-only' : ''}` } },
            },
            response: { 200: item, 201: item, ...ERROR_RESPONSES },
          },
        },
        async (request, reply) => {
          const { tenant, name } = request.params;
          await services.tenants.require(tenant);
          const result = await services.secrets.put(tenant, kind, name, request.body.value);
          reply.code(result.created ? 201 : 200);
          return result.item;
        },
      );

      app.get<{ Params: { tenant: string } }>(
        `/tenants/:tenant/${segment}`,
        {
          schema: {
            summary: `List ${segment}`,
            tags: [tag],
            params: tenantParams,
            response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: item } } }, ...ERROR_RESPONSES },
          },
        },
        async (request) => {
          await services.tenants.require(request.params.tenant);
          return { items: await services.secrets.list(request.params.tenant, kind) };
        },
      );

      app.delete<{ Params: { tenant: string; name: string } }>(
        `/tenants/:tenant/${segment}/:name`,
        {
          schema: {
            summary: `Delete a ${kind}`,
            tags: [tag],
            params: nameParams,
            response: { 204: { type: 'null', description: 'deleted' }, ...ERROR_RESPONSES },
          },
        },
        async (request, reply) => {
          const { tenant, name } = request.params;
          await services.tenants.require(tenant);
          await services.secrets.delete(tenant, kind, name);
          return reply.code(204).send();
        },
      );
    }
  };
