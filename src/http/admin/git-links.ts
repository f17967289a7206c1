import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.js';
import type { GitLinkInput } from '../../sync/git-service.js';
import { DEFAULT_REGISTRY_PATH } from '../../sync/model.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';
import { pinSchema, requester, rollbackAccepted, rollbackBody, ROLLBACK_DESCRIPTION, UNPIN_DESCRIPTION, unpinAccepted } from './repositories.js';
import { syncRecordSchema } from './syncs.js';
import { tenantParams } from './tenants.js';

/**
 * Links to any Git repository over HTTPS (GitLab, Gitea/Forgejo, Bitbucket, a plain Git server):
 * link (reads the branch first: 422 when it cannot be read; queues a first sync), list with the
 * last sync, read, unlink (removes the link's connectors), manual resync, rollback with a pin and
 * unpin (the same as a GitHub repository link's). Credentials are a
 * tenant secret named by `token_secret`; only its name is ever shown.
 */

const linkParams = {
  type: 'object',
  required: ['tenant', 'name'],
  properties: {
    tenant: tenantParams.properties.tenant,
    name: { type: 'string', description: 'the link name: lowercase letters, digits and "-"' },
  },
} as const;

type LinkParams = { tenant: string; name: string };

const providers = ['gitlab', 'gitea', 'generic'] as const;

const linkResult = {
  type: 'object',
  required: ['tenant', 'name', 'url', 'branch', 'path', 'sync_id'],
  properties: {
    tenant: { type: 'string' },
    name: { type: 'string' },
    url: { type: 'string' },
    branch: { type: 'string' },
    path: { type: 'string' },
    provider: { type: 'string', enum: [...providers] },
    sync_id: { type: 'string', description: 'the sync queued by this request (GET /syncs/{id})' },
  },
} as const;

const linkView = {
  type: 'object',
  required: ['tenant', 'name', 'source', 'url', 'branch', 'path', 'username', 'token_secret', 'poll_interval_s', 'provider', 'created_at', 'updated_at', 'applied_commit', 'pin', 'last_sync'],
  properties: {
    tenant: { type: 'string' },
    name: { type: 'string' },
    source: { type: 'string', enum: ['git'] },
    url: { type: 'string', description: 'clone URL (never with credentials)' },
    branch: { type: 'string' },
    path: { type: 'string' },
    username: { type: ['string', 'null'] },
    token_secret: { type: ['string', 'null'], description: 'name of the tenant secret holding the password or token' },
    poll_interval_s: { type: 'integer', description: 'effective polling interval; 0 = webhooks only' },
    provider: { type: 'string', enum: [...providers], description: 'where commit statuses go (generic: none)' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    applied_commit: { type: ['string', 'null'], description: 'commit whose connectors are live' },
    pin: { anyOf: [pinSchema, { type: 'null' }], description: 'set while a rollback pins the link to a commit (pushes and polls are skipped)' },
    last_sync: { anyOf: [syncRecordSchema, { type: 'null' }] },
  },
} as const;

export const gitLinkRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);

    app.put<{ Params: LinkParams; Body: GitLinkInput }>(
      '/tenants/:tenant/git/:name',
      {
        schema: {
          summary: 'Link a branch of any Git repository over HTTPS (reads it first; queues a first sync)',
          tags: ['git'],
          params: linkParams,
          body: {
            type: 'object',
            required: ['url', 'branch'],
            additionalProperties: false,
            properties: {
              url: { type: 'string', description: 'HTTPS clone URL, e.g. https://gitlab.example.com/group/repo.git (no credentials)' },
              branch: { type: 'string', description: 'branch to watch, e.g. main' },
              path: { type: 'string', description: `registry file path in the repository (default ${DEFAULT_REGISTRY_PATH})` },
              username: { type: 'string', description: 'user for HTTP basic authentication (default oauth2, used with token_secret)' },
              token_secret: { type: 'string', description: 'name of the tenant secret holding the password or access token' },
              poll_interval_s: { type: 'integer', description: 'seconds between head checks (default GIT_POLL_INTERVAL_S; 0 = webhooks only; else 5–86400)' },
              provider: { type: 'string', enum: [...providers], description: 'commit status API: gitlab, gitea (also Forgejo) or generic (none); default from the host name' },
            },
          },
          response: { 200: linkResult, 201: linkResult, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, name } = request.params;
        const { created, link, syncId } = await services.git.link(tenant, name, request.body);
        reply.code(created ? 201 : 200);
        return { tenant, name, url: link.url, branch: link.branch, path: link.path, provider: link.provider, sync_id: syncId };
      },
    );

    app.get<{ Params: { tenant: string } }>(
      '/tenants/:tenant/git',
      {
        schema: {
          summary: 'Git links with their last sync',
          tags: ['git'],
          params: tenantParams,
          response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: linkView } } }, ...ERROR_RESPONSES },
        },
      },
      async (request) => ({ items: await services.git.list(request.params.tenant) }),
    );

    app.get<{ Params: LinkParams }>(
      '/tenants/:tenant/git/:name',
      {
        schema: { summary: 'One Git link with its last sync', tags: ['git'], params: linkParams, response: { 200: linkView, ...ERROR_RESPONSES } },
      },
      async (request) => services.git.get(request.params.tenant, request.params.name),
    );

    app.delete<{ Params: LinkParams }>(
      '/tenants/:tenant/git/:name',
      {
        schema: {
          summary: "Unlink; answers once the link's connectors are gone",
          tags: ['git'],
          params: linkParams,
          response: {
            200: {
              type: 'object',
              required: ['tenant', 'name', 'url', 'deleted'],
              properties: { tenant: { type: 'string' }, name: { type: 'string' }, url: { type: 'string' }, deleted: { type: 'array', items: { type: 'string' } } },
            },
            ...ERROR_RESPONSES,
          },
        },
      },
      async (request) => {
        const { tenant, name } = request.params;
        return { tenant, ...(await services.git.unlink(tenant, name)) };
      },
    );

    app.post<{ Params: LinkParams }>(
      '/tenants/:tenant/git/:name/sync',
      {
        schema: {
          summary: 'Resync now (re-applies the branch head even when unchanged)',
          tags: ['git'],
          params: linkParams,
          response: { 202: { type: 'object', required: ['sync_id'], properties: { sync_id: { type: 'string' } } }, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        reply.code(202);
        return { sync_id: await services.git.resync(request.params.tenant, request.params.name) };
      },
    );

    app.post<{ Params: LinkParams; Body: { sha: string } }>(
      '/tenants/:tenant/git/:name/rollback',
      {
        schema: {
          summary: 'Roll back to the commit of an earlier succeeded sync of the link, and pin the link to it',
          description: ROLLBACK_DESCRIPTION,
          tags: ['git'],
          params: linkParams,
          body: rollbackBody,
          response: { 202: rollbackAccepted, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, name } = request.params;
        const accepted = await services.git.rollback(tenant, name, request.body.sha, requester(request));
        request.auditDetails = { sha: accepted.sha, sync_id: accepted.sync_id, restores_sync: accepted.restores_sync };
        reply.code(202);
        return accepted;
      },
    );

    app.post<{ Params: LinkParams }>(
      '/tenants/:tenant/git/:name/unpin',
      {
        schema: { summary: 'Unpin: apply the branch head and follow the branch again', description: UNPIN_DESCRIPTION, tags: ['git'], params: linkParams, response: { 202: unpinAccepted, ...ERROR_RESPONSES } },
      },
      async (request, reply) => {
        const { tenant, name } = request.params;
        const accepted = await services.git.unpin(tenant, name, requester(request));
        request.auditDetails = { sync_id: accepted.sync_id, pinned_to: accepted.pinned_to };
        reply.code(202);
        return accepted;
      },
    );
  };
