import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.js';
import { DEFAULT_REGISTRY_PATH } from '../../sync/model.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';
import { syncRecordSchema } from './syncs.js';
import { tenantParams } from './tenants.js';

/**
 * Repository links (docs/admin-api.md, docs/design.md#repository-links): link (queues a first sync), list with the last sync,
 * unlink (removes the link's connectors), manual resync.
 */

const repoParams = {
  type: 'object',
  required: ['tenant', 'owner', 'repo'],
  properties: {
    tenant: tenantParams.properties.tenant,
    owner: { type: 'string', description: 'repository owner (user or organisation)' },
    repo: { type: 'string', description: 'repository name' },
  },
} as const;

type RepoParams = { tenant: string; owner: string; repo: string };

const linkResult = {
  type: 'object',
  required: ['tenant', 'repository', 'branch', 'path', 'sync_id'],
  properties: {
    tenant: { type: 'string' },
    repository: { type: 'string' },
    branch: { type: 'string' },
    path: { type: 'string' },
    sync_id: { type: 'string', description: 'the sync queued by this request (GET /syncs/{id})' },
  },
} as const;

const linkView = {
  type: 'object',
  required: ['tenant', 'repository', 'branch', 'path', 'created_at', 'updated_at', 'applied_commit', 'last_sync'],
  properties: {
    tenant: { type: 'string' },
    repository: { type: 'string' },
    branch: { type: 'string' },
    path: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    applied_commit: { type: ['string', 'null'], description: 'commit whose connectors are live' },
    last_sync: { anyOf: [syncRecordSchema, { type: 'null' }] },
  },
} as const;

export const repositoryRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);

    app.put<{ Params: RepoParams; Body: { branch: string; path?: string } }>(
      '/tenants/:tenant/repositories/:owner/:repo',
      {
        schema: {
          summary: 'Link a repository branch (queues a first sync)',
          tags: ['repositories'],
          params: repoParams,
          body: {
            type: 'object',
            required: ['branch'],
            additionalProperties: false,
            properties: {
              branch: { type: 'string', description: 'branch to watch, e.g. main' },
              path: { type: 'string', description: `registry file path in the repository (default ${DEFAULT_REGISTRY_PATH})` },
            },
          },
          response: { 200: linkResult, 201: linkResult, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, owner, repo } = request.params;
        const input = { branch: request.body.branch, ...(request.body.path !== undefined ? { path: request.body.path } : {}) };
        const { created, link, syncId } = await services.sync.link(tenant, `${owner}/${repo}`, input);
        request.auditDetails = { created, branch: link.branch, path: link.path, sync_id: syncId };
        reply.code(created ? 201 : 200);
        return { tenant, repository: link.repository, branch: link.branch, path: link.path, sync_id: syncId };
      },
    );

    app.get<{ Params: { tenant: string } }>(
      '/tenants/:tenant/repositories',
      {
        schema: {
          summary: 'Linked repositories with their last sync',
          tags: ['repositories'],
          params: tenantParams,
          response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: linkView } } }, ...ERROR_RESPONSES },
        },
      },
      async (request) => ({ items: await services.sync.listLinks(request.params.tenant) }),
    );

    app.get(
      '/webhook',
      {
        schema: {
          summary: 'Where GitHub delivers push and pull_request events, and whether deliveries can be verified',
          tags: ['repositories'],
          response: {
            200: {
              type: 'object',
              required: ['path', 'url', 'secret_configured'],
              properties: {
                path: { type: 'string' },
                url: { type: ['string', 'null'], description: 'PUBLIC_URL + path; null without PUBLIC_URL' },
                secret_configured: { type: 'boolean', description: 'GITHUB_WEBHOOK_SECRET is set (without it every delivery is refused with 503)' },
              },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async () => ({
        path: '/webhooks/github',
        url: services.config.publicUrl === undefined ? null : `${services.config.publicUrl}/webhooks/github`,
        secret_configured: services.config.githubWebhookSecrets.length > 0,
      }),
    );

    app.delete<{ Params: RepoParams }>(
      '/tenants/:tenant/repositories/:owner/:repo',
      {
        schema: {
          summary: "Unlink a repository; answers once the link's connectors are gone",
          tags: ['repositories'],
          params: repoParams,
          response: {
            200: {
              type: 'object',
              required: ['tenant', 'repository', 'deleted'],
              properties: { tenant: { type: 'string' }, repository: { type: 'string' }, deleted: { type: 'array', items: { type: 'string' } } },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (request) => {
        const { tenant, owner, repo } = request.params;
        const { repository, deleted } = await services.sync.unlink(tenant, `${owner}/${repo}`);
        request.auditDetails = { deleted: deleted.length };
        return { tenant, repository, deleted };
      },
    );

    app.post<{ Params: RepoParams }>(
      '/tenants/:tenant/repositories/:owner/:repo/sync',
      {
        schema: {
          summary: 'Resync now (re-applies the branch head even when unchanged)',
          tags: ['repositories'],
          params: repoParams,
          response: { 202: { type: 'object', required: ['sync_id'], properties: { sync_id: { type: 'string' } } }, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, owner, repo } = request.params;
        const syncId = await services.sync.resync(tenant, `${owner}/${repo}`);
        request.auditDetails = { sync_id: syncId };
        reply.code(202);
        return { sync_id: syncId };
      },
    );
  };
