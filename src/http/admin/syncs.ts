import type { FastifyPluginAsync } from 'fastify';
import { NotFoundError } from '../../errors.js';
import type { Services } from '../../services.js';
import { MAX_QUERY_LIMIT } from '../../sync/history.js';
import { SYNC_STATES, SYNC_TRIGGERS, type SyncState } from '../../sync/model.js';
import { ERROR_RESPONSES, queryValidatorCompiler } from './openapi.js';

/** Sync history (docs/admin-api.md): `GET /syncs?tenant=&repository=&state=&limit=`, `GET /syncs/{id}`. */

const position = { type: 'integer', description: '1-based; 0 when the problem has no place in the file' } as const;

export const syncRecordSchema = {
  type: 'object',
  required: ['id', 'tenant', 'repository', 'branch', 'sha', 'trigger', 'state', 'created_at', 'finished_at', 'duration_ms', 'plan', 'errors'],
  properties: {
    id: { type: 'string' },
    tenant: { type: 'string' },
    source: { type: 'string', enum: ['github', 'git'], description: 'absent for GitHub links; `git` for a link to another Git host' },
    repository: { type: 'string', description: 'owner/repo (GitHub), or the clone URL without credentials (Git links)' },
    branch: { type: 'string' },
    sha: { type: ['string', 'null'], description: 'the commit evaluated (the branch head when the sync ran); while queued, the pushed commit if known' },
    trigger: { type: 'string', enum: [...SYNC_TRIGGERS], description: '`pull_request`: a check of a pull request head — `plan` is what merging would apply; nothing was applied. `rollback`: re-applies `sha`, an earlier succeeded commit, and pins the link to it. `unpin`: applies the branch head and follows the branch again' },
    state: { type: 'string', enum: [...SYNC_STATES] },
    delivery_id: { type: 'string' },
    pusher: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    started_at: { type: 'string', format: 'date-time' },
    finished_at: { type: ['string', 'null'], format: 'date-time' },
    duration_ms: { type: ['integer', 'null'] },
    plan: {
      type: 'object',
      required: ['created', 'updated', 'deleted'],
      properties: {
        created: { type: 'array', items: { type: 'string' } },
        updated: { type: 'array', items: { type: 'string' } },
        deleted: { type: 'array', items: { type: 'string' } },
      },
    },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['path', 'line', 'column', 'message'],
        properties: { file: { type: 'string', description: 'the registry file (the link\'s path)' }, permalink: { type: 'string' }, path: { type: 'string' }, line: position, column: position, message: { type: 'string' } },
      },
    },
    attempts: { type: 'integer', description: 'attempts started so far (retries after GitHub or Redis trouble)' },
    last_error: { type: 'string', description: 'why the last attempt did not finish (a retry is pending), why the sync was superseded, or `pinned to <sha>` for a skipped one' },
    pinned_to: { type: 'string', description: 'a `skipped` sync: the commit the link is pinned to (this commit was not applied)' },
    restores_sync: { type: 'string', description: 'a `rollback` sync: the earlier succeeded sync whose commit it re-applies' },
    requested_by: {
      type: 'object',
      required: ['actor'],
      description: 'a `rollback` or `unpin` sync: who asked',
      properties: { actor: { type: 'string', description: 'admin token fingerprint' }, actor_name: { type: 'string', description: 'the X-Gatehouse-Actor header' } },
    },
    commit_status: {
      type: 'object',
      description: 'the commit status reported to GitHub (context gatehouse/connectors)',
      properties: {
        state: { type: 'string', enum: ['success', 'failure', 'error'] },
        description: { type: 'string' },
        result: { type: 'string', enum: ['pending', 'posted', 'not_permitted', 'failed', 'skipped'] },
        message: { type: 'string' },
      },
    },
    warnings: {
      type: 'array',
      description: 'problems that do not block activation (e.g. a secret or variable the tenant does not have), with positions',
      items: {
        type: 'object',
        required: ['path', 'line', 'column', 'message'],
        properties: { permalink: { type: 'string' }, path: { type: 'string' }, line: position, column: position, message: { type: 'string' } },
      },
    },
    pull_request: {
      type: 'object',
      description: 'the pull request a `pull_request` check looked at',
      properties: { number: { type: 'integer' }, head_sha: { type: 'string' } },
    },
    check_run: {
      type: 'object',
      description: 'the check run posted on the commit (`not_permitted`: the credential cannot create check runs; a commit status with the plan\'s counts was posted instead)',
      properties: {
        conclusion: { type: 'string', enum: ['success', 'failure', 'neutral'] },
        result: { type: 'string', enum: ['pending', 'posted', 'not_permitted', 'failed'] },
        id: { type: 'integer' },
        message: { type: 'string' },
      },
    },
  },
} as const;

export const syncRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(queryValidatorCompiler);
    app.get<{ Querystring: { tenant?: string; repository?: string; state?: SyncState; limit?: number } }>(
      '/syncs',
      {
        schema: {
          summary: 'Sync history, newest first',
          tags: ['syncs'],
          querystring: {
            type: 'object',
            additionalProperties: false,
            properties: {
              tenant: { type: 'string', minLength: 1 },
              // owner/repo (docs/design.md#repository-names): a bare repository name would silently match nothing.
              repository: { type: 'string', minLength: 3, maxLength: 2048, pattern: '^([^/]+/[^/]+|https?://.+)$', description: 'owner/repo (case-insensitive), e.g. acme/connectors, or a Git link\'s clone URL' },
              state: { type: 'string', enum: [...SYNC_STATES] },
              limit: { type: 'integer', minimum: 1, maximum: MAX_QUERY_LIMIT, default: 50 },
            },
          },
          response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: syncRecordSchema } } }, ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        const q = request.query;
        const items = await services.sync.history.query({
          limit: q.limit ?? 50,
          ...(q.tenant !== undefined ? { tenant: q.tenant } : {}),
          ...(q.repository !== undefined ? { repository: q.repository } : {}),
          ...(q.state !== undefined ? { state: q.state } : {}),
        });
        return { items };
      },
    );

    app.get<{ Params: { id: string } }>(
      '/syncs/:id',
      {
        schema: {
          summary: 'One sync record',
          tags: ['syncs'],
          params: { type: 'object', required: ['id'], properties: { id: { type: 'string' } } },
          response: { 200: syncRecordSchema, ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        const record = await services.sync.history.get(request.params.id);
        if (record === undefined) throw new NotFoundError('SYNC_NOT_FOUND', `no sync "${request.params.id}" (records older than the last 100 of a link are dropped)`);
        return record;
      },
    );
  };
