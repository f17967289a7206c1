import type { FastifyPluginAsync } from 'fastify';
import type { Services } from '../../services.js';
import { DEFAULT_REGISTRY_PATH } from '../../sync/model.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';
import { syncRecordSchema } from './syncs.js';
import { tenantParams } from './tenants.js';
import { cleanActorName } from '../../audit/model.js';
import { SHA_PATTERN, type Requester } from '../../sync/rollback.js';
import type { FastifyRequest } from 'fastify';

/**
 * Repository links (docs/admin-api.md, docs/design.md#repository-links): link (queues a first sync), list with the last sync,
 * unlink (removes the link's connectors), manual resync, rollback with a pin, unpin.
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

export const pinSchema = {
  type: 'object',
  required: ['commit', 'sync_id', 'restores_sync', 'at'],
  properties: {
    commit: { type: 'string', description: 'the commit whose set stays live' },
    sync_id: { type: 'string', description: 'the rollback sync that applied it' },
    restores_sync: { type: 'string', description: 'the earlier succeeded sync of that commit' },
    at: { type: 'string', format: 'date-time' },
  },
} as const;

const linkView = {
  type: 'object',
  required: ['tenant', 'repository', 'branch', 'path', 'created_at', 'updated_at', 'applied_commit', 'pin', 'last_sync'],
  properties: {
    tenant: { type: 'string' },
    repository: { type: 'string' },
    branch: { type: 'string' },
    path: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    updated_at: { type: 'string', format: 'date-time' },
    applied_commit: { type: ['string', 'null'], description: 'commit whose connectors are live' },
    pin: { anyOf: [pinSchema, { type: 'null' }], description: 'set while a rollback pins the link to a commit (pushes and reconciliation are skipped)' },
    last_sync: { anyOf: [syncRecordSchema, { type: 'null' }] },
  },
} as const;

/** Rollback and unpin read the same for every kind of link (GitHub repository links, Git links). */
export const ROLLBACK_DESCRIPTION =
  'Queues a `rollback` sync that re-applies the registry file at that commit (validated again now and when it runs). Once it succeeds the link is pinned: pushes and reconciliation are recorded as `skipped` until POST …/unpin. Refused, changing nothing: 422 SHA_NOT_SUCCEEDED (no succeeded sync of this link has that commit), SHA_OF_ANOTHER_LINK, SHA_AMBIGUOUS, SHA_BEFORE_REPOINT, SHA_GONE, SHA_UNREADABLE, ROLLBACK_INVALID (the file no longer validates or collides; details lists the errors); 409 SYNC_IN_PROGRESS (a sync of the link is queued or running).';

export const UNPIN_DESCRIPTION =
  'Queues an `unpin` sync that applies the branch head; the pin is cleared when it succeeds (a head that fails validation leaves the link pinned, with the errors on the sync record). 409 LINK_NOT_PINNED when the link is not pinned.';

export const rollbackBody = {
  type: 'object',
  required: ['sha'],
  additionalProperties: false,
  properties: { sha: { type: 'string', pattern: SHA_PATTERN, description: 'the commit: 7 to 40 hexadecimal digits (a succeeded sync record\'s `sha`)' } },
} as const;

export const rollbackAccepted = {
  type: 'object',
  required: ['sync_id', 'sha', 'restores_sync', 'plan'],
  properties: {
    sync_id: { type: 'string', description: 'the rollback sync (GET /syncs/{id})' },
    sha: { type: 'string', description: 'the full commit SHA that will be applied and pinned' },
    restores_sync: { type: 'string', description: 'the earlier succeeded sync of that commit' },
    plan: { anyOf: [syncRecordSchema.properties.plan, { type: 'null' }], description: 'what applying it would change now; null when the repository\'s host could not be asked (the sync checks it)' },
  },
} as const;

export const unpinAccepted = {
  type: 'object',
  required: ['sync_id', 'pinned_to'],
  properties: { sync_id: { type: 'string', description: 'the unpin sync (GET /syncs/{id})' }, pinned_to: { type: 'string', description: 'the commit the link was pinned to' } },
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

    app.post<{ Params: RepoParams; Body: { sha: string } }>(
      '/tenants/:tenant/repositories/:owner/:repo/rollback',
      {
        schema: {
          summary: 'Roll back to the commit of an earlier succeeded sync of the link, and pin the link to it',
          description: ROLLBACK_DESCRIPTION,
          tags: ['repositories'],
          params: repoParams,
          body: rollbackBody,
          response: { 202: rollbackAccepted, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, owner, repo } = request.params;
        const accepted = await services.sync.rollback(tenant, `${owner}/${repo}`, request.body.sha, requester(request));
        request.auditDetails = { sha: accepted.sha, sync_id: accepted.sync_id, restores_sync: accepted.restores_sync };
        reply.code(202);
        return accepted;
      },
    );

    app.post<{ Params: RepoParams }>(
      '/tenants/:tenant/repositories/:owner/:repo/unpin',
      {
        schema: {
          summary: 'Unpin: apply the branch head and follow the branch again',
          description: UNPIN_DESCRIPTION,
          tags: ['repositories'],
          params: repoParams,
          response: { 202: unpinAccepted, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, owner, repo } = request.params;
        const accepted = await services.sync.unpin(tenant, `${owner}/${repo}`, requester(request));
        request.auditDetails = { sync_id: accepted.sync_id, pinned_to: accepted.pinned_to };
        reply.code(202);
        return accepted;
      },
    );
  };

/** Who asked, as the audit log names operators (the pin's audit entry credits them when it takes effect). */
export function requester(request: FastifyRequest): Requester {
  const name = cleanActorName(request.headers['x-gatehouse-actor']);
  return { actor: request.adminActor, ...(name !== undefined ? { actor_name: name } : {}) };
}
