/**
 * The three ways a call fails. Every error has `code`, so `catch (e) { e.code }` works for all;
 * the class says where it failed: before any request (boundary), at the server or upstream
 * (execute), or on the way (network / timeout).
 */

/** Refused on the client before any network I/O; `reason` names the rule. */
export class ConnectorBoundaryError extends Error {
  override readonly name = 'ConnectorBoundaryError';
  readonly code = 'INVALID_OPTIONS';
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface ExecuteErrorFields {
  status: number;
  code: string;
  detail: string;
  scope?: string | undefined;
  params?: string[] | undefined;
  requestId?: string | undefined;
  /** Legacy `{failure_scope, reason}` answers. */
  failureScope?: string | undefined;
  reason?: string | undefined;
  /** The parsed answer body (JSON, or text). */
  body?: unknown;
}

/** An answer with status ≥ 400: Gatehouse's envelope, or the upstream's own error answer. */
export class ConnectorExecuteError extends Error {
  override readonly name = 'ConnectorExecuteError';
  readonly status: number;
  readonly code: string;
  readonly detail: string;
  readonly scope: string | undefined;
  readonly params: string[] | undefined;
  readonly requestId: string | undefined;
  readonly failureScope: string | undefined;
  readonly reason: string | undefined;
  readonly body: unknown;
  constructor(fields: ExecuteErrorFields) {
    super(`${fields.status} ${fields.code}: ${fields.detail}`);
    this.status = fields.status;
    this.code = fields.code;
    this.detail = fields.detail;
    this.scope = fields.scope;
    this.params = fields.params;
    this.requestId = fields.requestId;
    this.failureScope = fields.failureScope;
    this.reason = fields.reason;
    this.body = fields.body;
  }
}

/** No answer: the request could not be made (`NETWORK_ERROR`, CORS refusals included) or timed out (`TIMEOUT`). */
export class ConnectorNetworkError extends Error {
  override readonly name = 'ConnectorNetworkError';
  constructor(
    readonly code: 'NETWORK_ERROR' | 'TIMEOUT',
    message: string,
  ) {
    super(message);
  }
}

/** A fixtures document that cannot be used: not JSON (with line and column) or the wrong shape. */
export class ConnectorFixtureError extends Error {
  override readonly name = 'ConnectorFixtureError';
  readonly code = 'INVALID_FIXTURES';
  constructor(
    message: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(message);
  }
}
