import type { FastifyPluginAsync } from 'fastify';
import type { SessionUser } from '../../auth/session.js';
import { AppError, BadRequestError, NotFoundError } from '../../errors.js';
import { compileConnector, type CompiledConnector } from '../../registry/compile.js';
import { parseJsonWithPositions } from '../../registry/json-source.js';
import type { CompositeDefinition, StoredConnector, ValidationIssue } from '../../registry/model.js';
import { validateConnectorText, validateConnectorValue, validateRegistryValue, type ValidationOptions } from '../../registry/validate.js';
import { execute } from '../../runtime/execute.js';
import { runtimeFor } from '../../runtime/index.js';
import type { Services } from '../../services.js';
import { strictValidatorCompiler } from './openapi.js';
import { definitionText, definitionWarnings } from './definition-warnings.js';

interface TestBody {
  connector?: unknown;
  composite?: unknown;
  permalink?: string;
  request?: {
    method?: string;
    queryParams?: Record<string, unknown>;
    pathParams?: Record<string, unknown>;
    payload?: unknown;
    headers?: Record<string, unknown>;
  };
  user?: Record<string, unknown>;
}

const scalar = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } as const;
const scalarMap = { type: 'object', additionalProperties: scalar } as const;
const nullableString = { anyOf: [{ type: 'string' }, { type: 'null' }] } as const;

const bodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    connector: { anyOf: [{ type: 'object' }, { type: 'string' }], description: 'an unsaved connector (Code Mode JSON, as an object or as its text)' },
    composite: { anyOf: [{ type: 'object' }, { type: 'string' }], description: 'an unsaved composite connector (as in composite_connectors of the registry file)' },
    permalink: { type: 'string', minLength: 1, maxLength: 255, description: 'a saved connector or composite connector' },
    request: {
      type: 'object',
      properties: {
        method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] },
        queryParams: scalarMap,
        pathParams: scalarMap,
        payload: {},
        headers: scalarMap,
      },
      additionalProperties: false,
    },
    user: {
      type: 'object',
      properties: {
        id: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'null' }] },
        email: nullableString,
        first_name: nullableString,
        last_name: nullableString,
        username: nullableString,
        profile_fields: { type: 'object' },
      },
      additionalProperties: false,
    },
  },
} as const;

function toSessionUser(u: Record<string, unknown> | undefined): SessionUser | undefined {
  if (u === undefined) return undefined;
  const pf = u.profile_fields;
  return {
    id: u.id ?? null,
    email: u.email ?? null,
    first_name: u.first_name ?? null,
    last_name: u.last_name ?? null,
    username: u.username ?? null,
    profile_fields: typeof pf === 'object' && pf !== null && !Array.isArray(pf) ? (pf as Record<string, unknown>) : {},
  };
}

function textMap(m: Record<string, unknown> | undefined): [string, string][] {
  return Object.entries(m ?? {}).map(([k, v]) => [k, String(v)]);
}

/**
 * Test Connection (docs/admin-api.md, docs/design.md#test-connection): runs the execute pipeline for a saved (`permalink`) or
 * unsaved (`connector`, validated like Code Mode first) connector, never through the cache, with an
 * optional stand-in user. Answers 200 `{status, headers, body, timing}` whatever the upstream said,
 * plus `X-Debug-Request` (docs/runtime.md#test-connection: credential auth fields masked, secret-using fields shown as
 * their template text, `ignored_overrides`).
 */
/** 422 VALIDATION_FAILED / 400 INVALID_JSON from a validation result (unsaved definitions are validated like Code Mode). */
function invalidDefinition(what: string, result: { errors: ValidationIssue[]; invalidJson?: { line: number; column: number; message: string } }): AppError {
  if (result.invalidJson !== undefined) {
    const { line, column, message } = result.invalidJson;
    return new BadRequestError('INVALID_JSON', `the ${what} is not valid JSON: ${message} (line ${line}, column ${column})`, undefined, { line, column });
  }
  const details = result.errors.map((e) => ({ path: e.path, message: e.message, line: e.line, column: e.column }));
  return new AppError(422, 'VALIDATION_FAILED', `the ${what} is invalid: ${details[0]?.path || '/'} ${details[0]?.message ?? ''}`, details);
}

function unsavedStored(tenant: string, kind: 'connector' | 'composite', definition: StoredConnector['definition']): StoredConnector {
  const now = new Date().toISOString();
  return { tenant, kind, definition, source: 'manual', revision: 'test-connection', created_at: now, updated_at: now };
}

/**
 * An unsaved composite, validated by the registry file's rules: it is checked as the only entry of
 * `composite_connectors`, and problems are reported with pointers relative to the composite.
 */
function validateComposite(raw: unknown, options: ValidationOptions): CompositeDefinition {
  let value = raw;
  if (typeof raw === 'string') {
    const parsed = parseJsonWithPositions(raw);
    if (!parsed.ok) throw invalidDefinition('composite connector', { errors: [], invalidJson: parsed.error });
    value = parsed.value;
  }
  const result = validateRegistryValue({ connectors: [], composite_connectors: [value] }, options);
  if (!result.ok) {
    const prefix = '/composite_connectors/0';
    throw invalidDefinition('composite connector', { errors: result.errors.map((e) => ({ ...e, path: e.path.startsWith(prefix) ? e.path.slice(prefix.length) : e.path })) });
  }
  return result.value.composite_connectors[0]!;
}

/**
 * Test Connection (docs/admin-api.md): runs the execute pipeline for a saved connector or
 * composite (`permalink`), or an unsaved one (`connector` / `composite`, validated like Code Mode
 * first), never through the cache, with an optional stand-in user. Answers 200
 * `{status, headers, body, timing, upstream, warnings}` whatever the upstream said, plus `X-Debug-Request`
 * (credential auth fields masked, secret-using fields shown as their template text,
 * `ignored_overrides`). `upstream` is the raw answer before the response template (for a
 * composite, the last step's), null when no upstream answered.
 */
export const connectorTestRoutes = (services: Services): FastifyPluginAsync =>
  async (app) => {
    // Strict like every admin body (docs/admin-api.md): no coercion (`"permalink": 5` is not a
    // string) and unknown fields rejected, so a typo such as `request.query` is reported, not dropped.
    app.setValidatorCompiler(strictValidatorCompiler);
    app.post<{ Params: { tenant: string }; Body: TestBody }>(
      '/tenants/:tenant/connectors/test',
      { schema: { body: bodySchema } },
      async (request, reply) => {
        const runtime = runtimeFor(services);
        const { tenant: tenantId } = request.params;
        const body = request.body;
        const tenant = await services.tenants.get(tenantId);
        if (tenant === undefined) throw new NotFoundError('TENANT_NOT_FOUND', `no tenant "${tenantId}"`);
        const given = [body.connector, body.composite, body.permalink].filter((x) => x !== undefined).length;
        if (given !== 1) {
          throw new BadRequestError('INVALID_REQUEST', 'send exactly one of "connector" (an unsaved definition), "composite" (an unsaved composite definition) or "permalink" (a saved connector)');
        }
        const options = { allowHttp: services.config.upstreamAllowHttp, allowCidrs: services.config.upstreamAllowCidrs };

        let compiled: CompiledConnector;
        let permalink: string;
        /** The definition the warnings are positioned in (docs/sync.md#warnings). */
        let warningsOf: { text: string; kind: 'connector' | 'composite' };
        if (body.connector !== undefined) {
          const result = typeof body.connector === 'string' ? validateConnectorText(body.connector, options) : validateConnectorValue(body.connector, options);
          if (!result.ok) throw invalidDefinition('connector', result);
          compiled = compileConnector(unsavedStored(tenantId, 'connector', result.value));
          permalink = result.value.permalink;
          warningsOf = { text: definitionText(body.connector), kind: 'connector' };
        } else if (body.composite !== undefined) {
          const definition = validateComposite(body.composite, options);
          compiled = compileConnector(unsavedStored(tenantId, 'composite', definition));
          permalink = definition.permalink;
          warningsOf = { text: definitionText(body.composite), kind: 'composite' };
        } else {
          permalink = body.permalink!;
          const entry = await runtime.connectors.get(tenantId, permalink);
          if (entry === undefined) throw new NotFoundError('CONNECTOR_NOT_FOUND', `tenant "${tenantId}" has no connector "${permalink}"`);
          compiled = entry.compiled;
          const stored = await services.registry.get(tenantId, permalink);
          warningsOf = { text: definitionText(stored?.definition ?? {}), kind: compiled.kind };
        }

        const req = body.request ?? {};
        const headers: Record<string, string> = {};
        for (const [k, v] of textMap(req.headers)) headers[k.toLowerCase()] = v;
        let payload: Buffer | undefined;
        if (req.payload !== undefined) {
          payload = Buffer.from(typeof req.payload === 'string' ? req.payload : JSON.stringify(req.payload), 'utf8');
          headers['content-type'] ??= 'application/json';
        }
        const out = await execute({
          deps: runtime,
          requestId: request.id,
          tenantId,
          permalink,
          kind: compiled.kind,
          compiled,
          test: { user: toSessionUser(body.user), tenant },
          caller: {
            // Composites are called with POST; a simple connector with its own method unless told otherwise.
            method: req.method ?? (compiled.kind === 'connector' ? compiled.method : 'POST'),
            query: textMap(req.queryParams),
            headers,
            body: payload,
            pathParams: new Map(textMap(req.pathParams)),
          },
        });
        if (out.debugJson !== undefined) reply.header('x-debug-request', out.debugJson);
        const text = typeof out.body === 'string' ? out.body : out.body.toString('utf8');
        return {
          status: out.status,
          headers: out.headers,
          body: text,
          timing: JSON.parse(out.timingJson) as unknown,
          upstream: out.upstream === undefined ? null : { status: out.upstream.status, body: out.upstream.body.toString('utf8') },
          warnings: await definitionWarnings(services, tenantId, warningsOf.text, warningsOf.kind),
        };
      },
    );
  };
