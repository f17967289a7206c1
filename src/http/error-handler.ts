import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { isRedisUnavailable, RETRY_AFTER_S, UNAVAILABLE_MESSAGE } from '../redis/errors.js';

/**
 * The default (admin) error envelope of docs/admin-api.md: `{"error": {"code", "message", "details"?}}`.
 * Route plugins with another envelope (the widget runtime) install their own handler.
 */
/**
 * A regular expression tells a caller little: when the failed `pattern` belongs to a schema with a
 * description (query validators keep the schema, see `queryValidatorCompiler`), say what is expected.
 */
function patternHint(v: { keyword: string; data?: unknown; parentSchema?: unknown }): string | undefined {
  if (v.keyword !== 'pattern' || typeof v.data !== 'string') return undefined;
  const description = (v.parentSchema as { description?: unknown } | undefined)?.description;
  return typeof description === 'string' ? `${JSON.stringify(v.data.slice(0, 100))} is not valid here: use ${description}` : undefined;
}

export function adminErrorBody(code: string, message: string, details?: unknown, fields?: Record<string, unknown>) {
  return { error: { code, message, ...(fields ?? {}), ...(details === undefined ? {} : { details }) } };
}

export function adminErrorHandler(error: FastifyError | Error, request: FastifyRequest, reply: FastifyReply) {
  if (error instanceof AppError) {
    // A 503 is an expected, named unavailability (e.g. WEBHOOKS_NOT_CONFIGURED): the operator needs
    // the code and message, not a stack trace at error level.
    if (error.status === 503) request.log.warn({ code: error.code, message: error.message }, 'request refused: service unavailable');
    else if (error.status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(error.status).send(adminErrorBody(error.code, error.message, error.details, error.fields));
  }
  const fe = error as FastifyError;
  if (fe.validation !== undefined) {
    const where = fe.validationContext ?? 'request';
    const details = fe.validation.map((v) => {
      // Name the offending field: "must NOT have additional properties" alone leaves the caller guessing.
      const extra = v.keyword === 'additionalProperties' ? (v.params as { additionalProperty?: unknown }).additionalProperty : undefined;
      return {
        path: `/${where}${v.instancePath}`,
        message: typeof extra === 'string' ? `must NOT have additional properties: unknown field "${extra.slice(0, 100)}"` : (patternHint(v) ?? v.message ?? 'is invalid'),
      };
    });
    return reply.code(400).send(adminErrorBody('INVALID_REQUEST', `the ${where} is invalid: ${details.map((d) => `${d.path} ${d.message}`).join('; ')}`, details));
  }
  if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
    return reply.code(413).send(adminErrorBody('PAYLOAD_TOO_LARGE', 'the request body is larger than allowed'));
  }
  if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
    return reply.code(415).send(adminErrorBody('UNSUPPORTED_MEDIA_TYPE', `content type ${request.headers['content-type'] ?? '(none)'} is not accepted here; send application/json`));
  }
  if (fe.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
    return reply.code(400).send(adminErrorBody('INVALID_JSON', 'the request body is empty; send a JSON object', undefined, { line: 1, column: 1 }));
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    return reply.code(fe.statusCode).send(adminErrorBody(fe.code ?? 'BAD_REQUEST', fe.message));
  }
  if (isRedisUnavailable(error)) {
    request.log.warn({ err: { type: error.name, message: error.message } }, 'Redis unavailable: answered 503');
    return reply.code(503).header('retry-after', String(RETRY_AFTER_S)).send(adminErrorBody('SERVICE_UNAVAILABLE', UNAVAILABLE_MESSAGE));
  }
  request.log.error({ err: error }, 'unhandled error');
  return reply.code(500).send(adminErrorBody('INTERNAL', `unexpected error; quote request id ${request.id} when reporting it`));
}
