import { AuthError } from '../auth/errors.js';
import { JwtSigningError } from '../templates/index.js';
import { MasterKeyMismatchError } from '../secrets/keys.js';
import { isRedisUnavailable, RETRY_AFTER_S, UNAVAILABLE_MESSAGE } from '../redis/errors.js';
import { UpstreamError, type UpstreamFailureKind } from '../upstream/client.js';
import { BlockedDestinationError } from '../upstream/guard.js';
import { redact } from './redact.js';

/**
 * The widget runtime's error envelope (docs/runtime.md, docs/runtime.md#endpoints):
 * `{"success": false, "errors": {"code", "detail", "scope"?, "params"?}, "request_id"}`.
 * Details never carry request data, secrets or upstream bodies.
 *
 * An error carries where it happened as data — the pipeline stage and, in a composite connector,
 * the step — and the envelope's scope text is built from that once, in `scopeText`.
 */

export const SCOPE = {
  template: 'Configuration (template rendering)',
  responseTemplate: 'Configuration (response template rendering)',
  jwtSigning: 'Authentication (JWT signing)',
  tokenRequest: 'Authentication (token request)',
  downstream: 'Downstream (network/external service)',
  downstreamHttp: 'Downstream (HTTP error)',
  unexpected: 'Unexpected error',
} as const;

export type RuntimeErrorCode =
  | 'MISSING_PATH_PARAMETERS'
  | 'INVALID_PATH_PARAMETERS'
  | 'CONNECTOR_MISCONFIGURED'
  | 'INVALID_SESSION'
  | 'AUTHENTICATION_REQUIRED'
  | 'CONNECTOR_NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'PAYLOAD_TOO_LARGE'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'INVALID_JSON'
  | 'TEMPLATE_ERROR'
  | 'JWT_SIGNING_FAILED'
  | 'BLOCKED_DESTINATION'
  | 'RATE_LIMITED'
  | 'UPSTREAM_TIMEOUT'
  | 'UPSTREAM_UNREACHABLE'
  | 'UPSTREAM_HTTP_ERROR'
  | 'TOKEN_REQUEST_FAILED'
  | 'UPSTREAM_RESPONSE_TOO_LARGE'
  | 'SERVICE_UNAVAILABLE'
  | 'SECRETS_UNAVAILABLE'
  | 'BAD_REQUEST'
  | 'INTERNAL';

/** One composite step: its name and 0-based index (docs/design.md#composite-connectors). */
export interface StepRef {
  name: string;
  index: number;
}

/** Where a failure happened: the stage of the pipeline (src/runtime/pipeline.ts), and the step of a composite. */
export interface ErrorScope {
  stage: string;
  step?: StepRef;
}

export class RuntimeError extends Error {
  /** Set when the failure is an upstream timeout (X-Connector-Timing `timeout: true`). */
  timeout = false;
  /** Extra response headers (e.g. `Allow`, `Retry-After`). */
  headers: Record<string, string> | undefined;
  /** Why an upstream call got no HTTP answer (UPSTREAM_UNREACHABLE): the metrics' error kind. */
  upstreamKind: UpstreamFailureKind | undefined;
  /** Overrides the area `scopeText` derives from the code (an authentication failure names its own). */
  area: string | undefined;

  constructor(
    readonly status: number,
    readonly code: RuntimeErrorCode,
    readonly detail: string,
    public scope?: ErrorScope,
    readonly params?: string[],
  ) {
    super(detail);
    this.name = 'RuntimeError';
  }

  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...(this.headers ?? {}), ...headers };
    return this;
  }

  inArea(area: string): this {
    this.area = area;
    return this;
  }
}

/** `Composite step 'fetch-user' (index 1): Downstream (HTTP error)` — docs/design.md#composite-connectors: 0-based. */
export function compositeScope(stepName: string, index: number, scope: string): string {
  return `Composite step '${stepName}' (index ${index}): ${scope}`;
}

/** Which part of the configuration or the outside world failed, by the error's code and stage. */
function areaOf(err: RuntimeError): string | undefined {
  if (err.area !== undefined) return err.area;
  const step = err.scope?.step;
  switch (err.code) {
    case 'TEMPLATE_ERROR':
      // A composite step's response template is reported like its other templates.
      return err.scope?.stage === 'response-body' && step === undefined ? SCOPE.responseTemplate : SCOPE.template;
    case 'JWT_SIGNING_FAILED':
      return SCOPE.jwtSigning;
    case 'TOKEN_REQUEST_FAILED':
      return SCOPE.tokenRequest;
    case 'UPSTREAM_TIMEOUT':
    case 'UPSTREAM_UNREACHABLE':
    case 'UPSTREAM_RESPONSE_TOO_LARGE':
      return SCOPE.downstream;
    case 'UPSTREAM_HTTP_ERROR':
      return SCOPE.downstreamHttp;
    case 'BLOCKED_DESTINATION':
      return step === undefined ? undefined : SCOPE.downstream;
    default:
      return undefined;
  }
}

/** The envelope's `scope` text, built from the error's data. */
export function scopeText(err: RuntimeError): string | undefined {
  const area = areaOf(err);
  if (area === undefined) return undefined;
  const step = err.scope?.step;
  return step === undefined ? area : compositeScope(step.name, step.index, area);
}

export interface ErrorEnvelope {
  success: false;
  errors: { code: string; detail: string; scope?: string; params?: string[] };
  request_id: string;
}

export function errorEnvelope(err: RuntimeError, requestId: string): ErrorEnvelope {
  const scope = scopeText(err);
  return {
    success: false,
    errors: {
      code: err.code,
      detail: err.detail,
      ...(scope === undefined ? {} : { scope }),
      ...(err.params === undefined ? {} : { params: err.params }),
    },
    request_id: requestId,
  };
}

/** 503 `SERVICE_UNAVAILABLE` with `Retry-After`: Redis cannot serve right now (src/redis/errors.ts). */
export function serviceUnavailable(): RuntimeError {
  return new RuntimeError(503, 'SERVICE_UNAVAILABLE', UNAVAILABLE_MESSAGE).withHeaders({ 'retry-after': String(RETRY_AFTER_S) });
}

/** Failures with an answer of their own (everything but Redis outages and bugs). */
function knownFailure(err: unknown): RuntimeError | undefined {
  if (err instanceof RuntimeError) return err;
  if (err instanceof AuthError) {
    const e = new RuntimeError(err.status, err.code, err.message);
    if (err.scope !== undefined) e.inArea(err.scope);
    e.timeout = err.timeout;
    return e;
  }
  if (err instanceof JwtSigningError) return new RuntimeError(422, 'JWT_SIGNING_FAILED', err.message);
  if (err instanceof BlockedDestinationError) return new RuntimeError(422, 'BLOCKED_DESTINATION', err.message);
  if (err instanceof UpstreamError) {
    const e = new RuntimeError(502, err.code, err.message);
    e.timeout = err.timeout;
    e.upstreamKind = err.kind;
    return e;
  }
  return undefined;
}

/** The failure as a RuntimeError that knows where it happened; other failures stay as they are (500/503 later). */
export function locate(err: unknown, scope: ErrorScope): unknown {
  const known = knownFailure(err);
  if (known === undefined) return err;
  known.scope ??= scope;
  return known;
}

/** What the failure mapping needs to report an unexpected error (logged, never answered). */
export interface FailureReport {
  log: { warn(obj: object, msg: string): void; error(obj: object, msg: string): void };
  requestId: string;
  tenant?: string;
  permalink?: string;
  /** Secret values of the request: redacted from whatever is logged. */
  secrets?: Iterable<string>;
}

/**
 * The one mapping of failures to answers: runtime errors stay; authentication, upstream and address
 * failures become their codes; Redis being unavailable is 503 with `Retry-After`; a master key that
 * does not open the tenant's data key is 503 `SECRETS_UNAVAILABLE` (cause logged); anything else is
 * 500 INTERNAL, logged (redacted) with the request id the answer quotes.
 */
export function toRuntimeError(err: unknown, report: FailureReport): RuntimeError {
  const known = knownFailure(err);
  if (known !== undefined) return known;
  const fields = { request_id: report.requestId, tenant: report.tenant, ...(report.permalink === undefined ? {} : { permalink: report.permalink }) };
  if (isRedisUnavailable(err)) {
    report.log.warn({ err: { type: (err as Error).name, message: (err as Error).message }, ...fields }, 'Redis unavailable: answered 503');
    return serviceUnavailable();
  }
  if (err instanceof MasterKeyMismatchError) {
    // A deployment mistake, not a bug: the caller learns it is the server's side; the operator gets the cause.
    report.log.error({ err: { type: err.name, code: err.code, message: err.message }, ...fields }, 'tenant secrets cannot be decrypted with this process\'s master key: answered 503');
    return new RuntimeError(503, 'SECRETS_UNAVAILABLE', `the service cannot read this tenant's secrets (a server configuration problem, reported to its operators); quote request id ${report.requestId}`);
  }
  // The error may quote the upstream URL or a header (an API key in a query string): redact before logging.
  const e = err instanceof Error ? err : new Error(String(err));
  const secrets = [...(report.secrets ?? [])];
  const logged = { type: e.name, message: redact(e.message, secrets), stack: redact(e.stack ?? '', secrets) };
  report.log.error({ err: logged, ...fields }, 'connector execution failed unexpectedly');
  return new RuntimeError(500, 'INTERNAL', `unexpected error; quote request id ${report.requestId} when reporting it`);
}
