/**
 * The one error type the template engine throws. Positions are 1-based (docs/design.md#positions); a position of
 * 0 means "not tied to a place in the source" (e.g. a limit hit while printing).
 */
export type TemplateErrorKind = 'syntax' | 'availability' | 'runtime' | 'limit';

export class TemplateError extends Error {
  constructor(
    readonly kind: TemplateErrorKind,
    message: string,
    public line: number,
    public column: number,
  ) {
    super(message);
    this.name = 'TemplateError';
  }

  /** `LINE:COL: message`, the form the CLI prints. */
  describe(): string {
    return `${this.line}:${this.column}: ${this.message}`;
  }
}

/**
 * `jwt_encode` could not sign (bad key, unsupported algorithm). Still a TemplateError so callers that
 * only know templates handle it; the runtime maps it to `JWT_SIGNING_FAILED` (docs/runtime.md).
 */
export class JwtSigningError extends TemplateError {
  constructor(message: string, line: number, column: number) {
    super('runtime', message, line, column);
    this.name = 'JwtSigningError';
  }
}

/**
 * Internal: raised by the evaluator without a position; the node that catches it first attaches
 * its own line/column and converts it to a TemplateError.
 */
export class EvalError extends Error {
  constructor(
    message: string,
    readonly kind: TemplateErrorKind = 'runtime',
  ) {
    super(message);
    this.name = 'EvalError';
  }
}
