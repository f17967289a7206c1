import type { SyncError } from '../model.js';

/**
 * A sync that ends without activating anything, for a reason retrying cannot fix. `status` is
 * the commit status to report: `failure` when the file is at fault, `error` when Gatehouse could
 * not finish (docs/design.md#sync-history-and-commit-status).
 */
export class SyncFailure extends Error {
  constructor(
    readonly status: 'failure' | 'error',
    readonly errors: SyncError[],
    /** The commit evaluated, when known. */
    readonly sha: string | null,
  ) {
    super(errors.map((e) => e.message).join('; '));
    this.name = 'SyncFailure';
  }
}

/** A condition that should clear by itself (e.g. GitHub not yet showing a pushed commit): retry. */
export class SyncRetry extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SyncRetry';
  }
}

export function plainError(message: string): SyncError {
  return { path: '', line: 0, column: 0, message };
}
