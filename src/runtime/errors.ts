import { RETRY_AFTER_S, UNAVAILABLE_MESSAGE } from '../redis/errors.js';
/**
 * The widget runtime's error envelope (docs/runtime.md, docs/runtime.md#endpoints):
 * `{"success": false, "errors": {"code", "detail", "scope"?, "params"?}, "request_id"}`.
 * Details never carry request data, secrets or upstream bodies.
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
  | 'BAD_REQUEST'
  | 'INTERNAL';

export class RuntimeError extends Error {
  /** Set when the failure is an upstream timeout (X-Connector-Timing `timeout: true`). */
  timeout = false;
  /** Extra response headers (e.g. `Allow`, `Retry-After`). */
  headers: Record<string, string> | undefined;

  constructor(
    readonly status: number,
    readonly code: RuntimeErrorCode,
    readonly detail: string,
    public scope?: string,
    readonly params?: string[],
  ) {
    super(detail);
    this.name = 'RuntimeError';
  }

  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...(this.headers ?? {}), ...headers };
    return this;
  }
}

/** `Composite step 'fetch-user' (index 1): Downstream (HTTP error)` — docs/design.md#composite-connectors: 0-based. */
export function compositeScope(stepName: string, index: number, scope: string): string {
  return `Composite step '${stepName}' (index ${index}): ${scope}`;
}

export interface ErrorEnvelope {
  success: false;
  errors: { code: string; detail: string; scope?: string; params?: string[] };
  request_id: string;
}

export function errorEnvelope(err: RuntimeError, requestId: string): ErrorEnvelope {
  return {
    success: false,
    errors: {
      code: err.code,
      detail: err.detail,
      ...(err.scope === undefined ? {} : { scope: err.scope }),
      ...(err.params === undefined ? {} : { params: err.params }),
    },
    request_id: requestId,
  };
}

/** 503 `SERVICE_UNAVAILABLE` with `Retry-After`: Redis cannot serve right now (src/redis/errors.ts). */
export function serviceUnavailable(): RuntimeError {
  return new RuntimeError(503, 'SERVICE_UNAVAILABLE', UNAVAILABLE_MESSAGE).withHeaders({ 'retry-after': String(RETRY_AFTER_S) });
}
