/**
 * What went wrong reading a Git remote, reduced to what the sync must do about it. Every kind has
 * its own message so an operator can tell an unreachable host from a TLS problem, a refused
 * credential, a vanished branch or an oversized file. Messages name the URL without credentials
 * and never quote request headers.
 *  - `unreachable`: DNS, connection refused/reset, timeout, 5xx → retried with backoff;
 *  - everything else is permanent for this commit: retrying cannot help until someone acts.
 */

export type GitSourceErrorKind =
  | 'unreachable'
  | 'tls'
  | 'blocked'
  | 'auth-required'
  | 'auth-failed'
  | 'not-found'
  | 'branch-missing'
  | 'file-too-large'
  | 'too-large'
  | 'redirected'
  | 'protocol';

export class GitSourceError extends Error {
  constructor(
    readonly kind: GitSourceErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'GitSourceError';
  }

  get retryable(): boolean {
    return this.kind === 'unreachable';
  }
}
