import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.js';
import { TENANT_ID_PATTERN } from '../../tenants/model.js';
import { TenantNotFoundError } from '../../tenants/store.js';
import { MAX_ORIGINS, MAX_TENANT_NAME, type TenantInput } from '../../tenants/validate.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';

/**
 * Tenants (docs/admin-api.md): `PUT /tenants/{tenant}`, `GET /tenants`, `GET /tenants/{tenant}`; and, as an
 * extension, `DELETE /tenants/{tenant}`.
 */

export const tenantParams = {
  type: 'object',
  required: ['tenant'],
  properties: {
    tenant: { type: 'string', description: `tenant id: ${TENANT_ID_PATTERN.source}` },
  },
} as const;

const tenantView = {
  type: 'object',
  required: ['id', 'name', 'session', 'allowed_origins', 'rate_limit_per_minute', 'rate_limit_per_user_per_minute', 'trace_propagation', 'created_at', 'updated_at'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    session: {
      description: 'session token verification; the HS256 secret is never returned',
      type: ['object', 'null'],
      properties: {
        alg: { type: 'string', enum: ['HS256'] },
        jwks_url: { type: 'string' },
      },
    },
    allowed_origins: { type: 'array', items: { type: 'string' } },
    rate_limit_per_minute: { type: ['integer', 'null'] },
    rate_limit_per_user_per_minute: { type: ['integer', 'null'] },
    trace_propagation: { type: 'boolean' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
  },
} as const;

const tenantBody = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: MAX_TENANT_NAME },
    session: {
      description: '`{alg: "HS256", secret}` (secret ≥ 32 bytes; omit `secret` to keep the stored one), `{jwks_url}`, or null for none',
      oneOf: [
        {
          type: 'object',
          required: ['alg'],
          additionalProperties: false,
          properties: { alg: { type: 'string', enum: ['HS256'] }, secret: { type: 'string' } },
        },
        {
          type: 'object',
          required: ['jwks_url'],
          additionalProperties: false,
          properties: { jwks_url: { type: 'string' } },
        },
        { type: 'null' },
      ],
    },
    allowed_origins: { type: 'array', maxItems: MAX_ORIGINS, items: { type: 'string' }, description: 'browser origins allowed to call the runtime: exact origins (scheme://host[:port], e.g. https://app.example.com), or ["*"] alone for any origin; [] = no browser origin' },
    rate_limit_per_minute: { type: ['integer', 'null'], description: 'requests per minute for the tenant; null or absent: no limit' },
    rate_limit_per_user_per_minute: {
      type: ['integer', 'null'],
      description: 'extension: requests per minute for each signed-in user (session token `sub`); anonymous callers count only toward the tenant limit; null or absent: no limit',
    },
    trace_propagation: {
      type: 'boolean',
      description: 'extension: when tracing is on (OTEL_EXPORTER_OTLP_ENDPOINT), requests to this tenant\'s upstreams and token endpoints carry a W3C traceparent header; false sends none. Absent: true',
    },
  },
} as const;

export const tenantRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);

    app.put<{ Params: { tenant: string }; Body: TenantInput }>(
      '/tenants/:tenant',
      {
        schema: {
          summary: 'Create or replace a tenant',
          tags: ['tenants'],
          params: tenantParams,
          body: tenantBody,
          response: { 200: tenantView, 201: tenantView, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { created, tenant } = await services.tenants.put(request.params.tenant, request.body);
        reply.code(created ? 201 : 200);
        // Which settings were sent, never their values (the session secret among them).
        request.auditDetails = { created, fields: Object.keys(request.body).sort() };
        return tenant;
      },
    );

    app.get(
      '/tenants',
      {
        schema: {
          summary: 'List tenants',
          tags: ['tenants'],
          response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: tenantView } } }, ...ERROR_RESPONSES },
        },
      },
      async () => ({ items: await services.tenants.list() }),
    );

    app.get<{ Params: { tenant: string } }>(
      '/tenants/:tenant',
      {
        schema: {
          summary: 'Read a tenant',
          tags: ['tenants'],
          params: tenantParams,
          response: { 200: tenantView, ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        const view = await services.tenants.view(request.params.tenant);
        if (view === undefined) throw new TenantNotFoundError(request.params.tenant);
        return view;
      },
    );

    app.delete<{ Params: { tenant: string } }>(
      '/tenants/:tenant',
      {
        schema: {
          summary: 'Delete a tenant (extension)',
          description:
            'Removes the tenant, its settings, secrets, variables, data key and manual connectors at once, and purges their cached responses. ' +
            'Refused with 409 TENANT_HAS_REPOSITORIES while repositories are linked: unlink them first. Sync history is kept.',
          tags: ['tenants'],
          params: tenantParams,
          response: {
            200: {
              type: 'object',
              required: ['tenant', 'connectors'],
              properties: { tenant: { type: 'string' }, connectors: { type: 'array', items: { type: 'string' }, description: 'permalinks of the removed connectors' } },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (request) => {
        const tenant = request.params.tenant;
        const { connectors } = await services.tenants.delete(tenant);
        // The entries are unreachable already (their tenant is gone); invalidating them keeps a tenant
        // later created under the same id from ever meeting them. Their memory goes with their TTL.
        for (const permalink of connectors) {
          await services.responseCache
            .purge(tenant, permalink, { free: false })
            .catch((err: unknown) => request.log.warn({ err: { message: (err as Error).message }, tenant, permalink }, 'cache purge after tenant deletion failed'));
        }
        request.auditDetails = { connectors: connectors.length };
        return { tenant, connectors: connectors.sort() };
      },
    );
  };
