/**
 * Typed errors. Every failure the service reports has a stable `code`; HTTP layers map these to
 * the envelopes of docs/admin-api.md and docs/runtime.md (admin: `{error: {code, message, details?}}`; runtime: its own envelope).
 */
export class AppError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    /** Extra top-level fields of the admin error object (e.g. `line`/`column` of INVALID_JSON). */
    readonly fields?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'AppError';
  }
}

export class NotFoundError extends AppError {
  constructor(code: string, message: string) {
    super(404, code, message);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends AppError {
  constructor(code: string, message: string, details?: unknown) {
    super(409, code, message, details);
    this.name = 'ConflictError';
  }
}

export class BadRequestError extends AppError {
  constructor(code: string, message: string, details?: unknown, fields?: Record<string, unknown>) {
    super(400, code, message, details, fields);
    this.name = 'BadRequestError';
  }
}
