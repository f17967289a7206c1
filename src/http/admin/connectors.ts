import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import { AppError, BadRequestError } from '../../errors.js';
import { parseJsonWithPositions } from '../../registry/json-source.js';
import { HTTP_METHODS, type ConnectorDefinition, type StoredConnector } from '../../registry/model.js';
import { isValidPermalink, PERMALINK_PATTERN } from '../../registry/permalink.js';
import { ConnectorNotFoundError, ReadOnlyConnectorError } from '../../registry/store.js';
import { validateConnectorText, type ValidationOptions } from '../../registry/validate.js';
import type { Services } from '../../services.js';
import { definitionWarnings, warningsSchema } from './definition-warnings.js';
import { ERROR_RESPONSES, strictValidatorCompiler } from './openapi.js';
import { tenantParams } from './tenants.js';

/**
 * Connectors (docs/admin-api.md). Reads cover both sources; writes are for manual connectors (Code Mode):
 * the body is the raw JSON text of one connector as in the registry file, so syntax errors carry
 * line and column (400 INVALID_JSON) and field errors their pointer and position (422
 * VALIDATION_FAILED). Repository-owned connectors are read-only here (409 READ_ONLY_CONNECTOR).
 * A save answers the connector with `warnings` (docs/sync.md#warnings): problems that do not block it.
 */

const summaryProperties = {
  tenant: { type: 'string' },
  permalink: { type: 'string' },
  name: { type: 'string' },
  kind: { type: 'string', enum: ['connector', 'composite'] },
  source: { type: 'string', enum: ['manual', 'repository'] },
  repository: { type: ['string', 'null'], description: '`owner/repo` for repository connectors' },
  revision: { type: 'string', description: 'SHA-256 of the canonical definition JSON; changes whenever the definition does' },
  commit_sha: { type: ['string', 'null'] },
  created_at: { type: 'string', format: 'date-time' },
  updated_at: { type: 'string', format: 'date-time' },
} as const;

const summarySchema = {
  type: 'object',
  required: Object.keys(summaryProperties),
  properties: summaryProperties,
} as const;

const detailSchema = {
  type: 'object',
  required: [...Object.keys(summaryProperties), 'definition'],
  properties: {
    ...summaryProperties,
    definition: { type: 'object', additionalProperties: true, description: 'the normalised definition (Code Mode JSON: can be sent back unchanged)' },
  },
} as const;

/** A save's answer: the connector, plus its warnings (never blocking). */
const savedSchema = {
  type: 'object',
  required: [...detailSchema.required, 'warnings'],
  properties: { ...detailSchema.properties, warnings: warningsSchema },
} as const;

const paramSchema = {
  type: 'object',
  required: ['key', 'value'],
  properties: { key: { type: 'string' }, value: { type: 'string' }, overridable: { type: 'boolean' } },
} as const;

/** Documentation of the Code Mode body; the request is validated by the registry validator, not by this schema. */
const connectorBodySchema = {
  type: 'object',
  description:
    'One connector as in connectors_registry.json (schemas/connectors_registry.schema.json#/$defs/connector), sent as JSON text. ' +
    'Unknown keys are ignored; defaults are applied. On PUT the permalink comes from the URL: a `permalink` in the body must equal it.',
  required: ['name', 'url'],
  additionalProperties: true,
  properties: {
    name: { type: 'string', maxLength: 255 },
    permalink: { type: 'string', pattern: PERMALINK_PATTERN.source, maxLength: 255, description: 'derived from name when absent (POST)' },
    url: { type: 'string', maxLength: 2048 },
    method: { type: 'string', enum: [...HTTP_METHODS] },
    headers: { type: 'array', items: paramSchema },
    query_parameters: { type: 'array', items: paramSchema },
    path_parameters: {
      type: 'array',
      items: { type: 'object', required: ['key'], properties: { key: { type: 'string' }, value: { type: 'string' }, overridable: { type: 'boolean' } } },
    },
    authentication: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, config: { type: 'object' } } },
    request_body: { type: 'string' },
    response_body: { type: 'string' },
    response_content_type: { type: 'string' },
  },
} as const;

const permalinkParams = {
  type: 'object',
  required: ['tenant', 'permalink'],
  properties: { ...tenantParams.properties, permalink: { type: 'string' } },
} as const;

function summary(stored: StoredConnector) {
  return {
    tenant: stored.tenant,
    permalink: stored.definition.permalink,
    name: stored.definition.name,
    kind: stored.kind,
    source: stored.source,
    repository: stored.repository ?? null,
    revision: stored.revision,
    commit_sha: stored.commit_sha ?? null,
    created_at: stored.created_at,
    updated_at: stored.updated_at,
  };
}

function detail(stored: StoredConnector) {
  return { ...summary(stored), definition: stored.definition };
}

/** Parses and validates Code Mode text; throws the API's INVALID_JSON / VALIDATION_FAILED. */
function validateBody(text: string, options: ValidationOptions): ConnectorDefinition {
  const result = validateConnectorText(text, options);
  if (result.ok) return result.value;
  if (result.invalidJson !== undefined) {
    const { line, column, message } = result.invalidJson;
    throw new BadRequestError('INVALID_JSON', `the connector is not valid JSON: ${message} (line ${line}, column ${column})`, undefined, { line, column });
  }
  throw validationFailed(result.errors.map((e) => ({ path: e.path, message: e.message, line: e.line, column: e.column })));
}

function validationFailed(details: { path: string; message: string; line: number; column: number }[]): AppError {
  const first = details[0];
  const summaryText = first === undefined ? '' : `: ${first.path || '/'} ${first.message}${details.length > 1 ? ` (and ${details.length - 1} more)` : ''}`;
  return new AppError(422, 'VALIDATION_FAILED', `the connector is invalid${summaryText}`, details);
}

/**
 * PUT names the connector in the URL. A body without `permalink` takes the URL's (the name is not
 * used to derive one); a body with a different `permalink` is rejected: renaming a permalink is
 * "create the new one, delete the old one", never a silent move.
 */
function bindPermalink(text: string, definition: ConnectorDefinition, permalink: string): ConnectorDefinition {
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok) return definition;
  const given = (parsed.value as Record<string, unknown>).permalink;
  if (given === undefined || given === null || given === '') return { ...definition, permalink };
  if (definition.permalink !== permalink) {
    const at = parsed.locator.value('/permalink');
    throw validationFailed([{ path: '/permalink', message: `must equal the permalink in the URL ("${permalink}"); to rename, create the connector under the new permalink and delete the old one`, ...at }]);
  }
  return definition;
}

function installRawJsonParser(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  // Code Mode editors may send the text as text/plain; either way the raw text goes to the validator.
  app.removeContentTypeParser('text/plain');
  app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, (_request, body, done) => done(null, body));
}

/** The Code Mode body is the raw text; only params are validated by schema. */
const rawBodyValidatorCompiler = ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
  httpPart === 'body' ? () => true : strictValidatorCompiler({ schema });

export const connectorRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    app.setValidatorCompiler(strictValidatorCompiler);
    installRawJsonParser(app);
    const options: ValidationOptions = { allowHttp: services.config.upstreamAllowHttp, allowCidrs: services.config.upstreamAllowCidrs };
    const tags = ['connectors'];

    app.get<{ Params: { tenant: string } }>(
      '/tenants/:tenant/connectors',
      {
        schema: {
          summary: 'List connectors (manual and repository, both kinds)',
          tags,
          params: tenantParams,
          response: { 200: { type: 'object', required: ['items'], properties: { items: { type: 'array', items: summarySchema } } }, ...ERROR_RESPONSES },
        },
      },
      async (request) => {
        await services.tenants.require(request.params.tenant);
        return { items: (await services.registry.list(request.params.tenant)).map(summary) };
      },
    );

    app.get<{ Params: { tenant: string; permalink: string } }>(
      '/tenants/:tenant/connectors/:permalink',
      {
        schema: { summary: 'Read a connector with its definition', tags, params: permalinkParams, response: { 200: detailSchema, ...ERROR_RESPONSES } },
      },
      async (request) => {
        const { tenant, permalink } = request.params;
        await services.tenants.require(tenant);
        const stored = await services.registry.get(tenant, permalink);
        if (stored === undefined) throw new ConnectorNotFoundError(tenant, permalink);
        return detail(stored);
      },
    );

    app.post<{ Params: { tenant: string }; Body: string }>(
      '/tenants/:tenant/connectors',
      {
        validatorCompiler: rawBodyValidatorCompiler,
        schema: {
          summary: 'Create a manual connector from Code Mode JSON',
          tags,
          params: tenantParams,
          body: connectorBodySchema,
          response: { 201: savedSchema, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant } = request.params;
        await services.tenants.require(tenant);
        const text = bodyText(request.body);
        const definition = validateBody(text, options);
        const stored = await services.registry.createManual(tenant, definition);
        request.auditTarget = { permalink: definition.permalink };
        request.auditDetails = { new_revision: stored.revision };
        reply.code(201).header('location', `/admin/v1/tenants/${tenant}/connectors/${definition.permalink}`);
        return { ...detail(stored), warnings: await definitionWarnings(services, tenant, text, 'connector') };
      },
    );

    app.put<{ Params: { tenant: string; permalink: string }; Body: string }>(
      '/tenants/:tenant/connectors/:permalink',
      {
        validatorCompiler: rawBodyValidatorCompiler,
        schema: {
          summary: 'Create or replace a manual connector from Code Mode JSON',
          tags,
          params: permalinkParams,
          body: connectorBodySchema,
          response: { 200: savedSchema, 201: savedSchema, ...ERROR_RESPONSES },
        },
      },
      async (request, reply) => {
        const { tenant, permalink } = request.params;
        await services.tenants.require(tenant);
        if (!isValidPermalink(permalink)) {
          throw new BadRequestError('INVALID_PERMALINK', `"${permalink.slice(0, 255)}" is not a valid permalink: lowercase letters and digits in groups joined by single "-", at most 255 characters`);
        }
        // A repository's connector cannot be edited here whatever the body says: say so first, rather
        // than have the operator fix JSON or fields only to learn the edit was never possible.
        // (updateManual re-checks atomically; this read only orders the answers.)
        const existing = await services.registry.get(tenant, permalink);
        if (existing?.source === 'repository') throw new ReadOnlyConnectorError(permalink, existing.repository ?? '');
        const text = bodyText(request.body);
        const definition = bindPermalink(text, validateBody(text, options), permalink);
        const { created, stored } = await services.registry.updateManual(tenant, permalink, definition, { upsert: true });
        request.auditDetails = { old_revision: existing?.revision ?? null, new_revision: stored.revision };
        reply.code(created ? 201 : 200);
        return { ...detail(stored), warnings: await definitionWarnings(services, tenant, text, 'connector') };
      },
    );

    app.delete<{ Params: { tenant: string; permalink: string } }>(
      '/tenants/:tenant/connectors/:permalink',
      {
        schema: { summary: 'Delete a manual connector', tags, params: permalinkParams, response: { 204: { type: 'null', description: 'deleted' }, ...ERROR_RESPONSES } },
      },
      async (request, reply) => {
        const { tenant, permalink } = request.params;
        await services.tenants.require(tenant);
        const existing = await services.registry.get(tenant, permalink);
        await services.registry.deleteManual(tenant, permalink);
        request.auditDetails = { old_revision: existing?.revision ?? null };
        return reply.code(204).send();
      },
    );
  };

function bodyText(body: unknown): string {
  return typeof body === 'string' ? body : '';
}
