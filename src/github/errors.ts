/**
 * What went wrong talking to GitHub, reduced to what the caller must do about it:
 *  - `retryable`: 5xx, timeouts, dropped connections → try again with backoff;
 *  - `rate-limited`: primary (x-ratelimit-remaining: 0 → wait until x-ratelimit-reset) or secondary
 *    (retry-after, or a minute when GitHub gives no hint) → wait until `retryAt`, costs no attempt;
 *  - `not-found`: 404 (GitHub also answers 404 for a private repository the credential cannot see);
 *  - `permanent`: anything else (bad credentials, forbidden, validation) → retrying cannot help.
 *
 * Messages never include request headers (the token lives there) — only the method, route and
 * GitHub's own error message.
 */

export type GitHubErrorKind = 'retryable' | 'rate-limited' | 'not-found' | 'permanent';

export class GitHubError extends Error {
  constructor(
    readonly kind: GitHubErrorKind,
    message: string,
    readonly status: number | undefined,
    /** Epoch ms when a rate-limited call may be retried. */
    readonly retryAt?: number,
  ) {
    super(message);
    this.name = 'GitHubError';
  }
}

/** GitHub's `x-ratelimit-reset` is a whole second and clocks drift: calls resume this long after it. */
export const RESET_SLACK_MS = 1000;

/**
 * When calls may resume after a spent primary budget (`x-ratelimit-reset`, epoch seconds). The one
 * rule for both paths — a 403 that says so, and a successful answer that spent the last call —
 * so neither calls GitHub right at the reset second.
 */
export function resumeAfterReset(resetEpochS: number, now = Date.now()): number {
  return Math.max(now, resetEpochS * 1000) + RESET_SLACK_MS;
}

/** The secondary rate limit documents no header in some answers; GitHub asks to wait a minute. */
const SECONDARY_DEFAULT_WAIT_MS = 60_000;

interface RequestErrorLike {
  status?: unknown;
  message?: unknown;
  response?: { headers?: Record<string, string | number | undefined>; data?: unknown };
}

export function classifyGitHubError(err: unknown, what: string, now = Date.now()): GitHubError {
  if (err instanceof GitHubError) return err;
  const e = (typeof err === 'object' && err !== null ? err : {}) as RequestErrorLike;
  const status = typeof e.status === 'number' ? e.status : undefined;
  const response = e.response;
  const githubMessage = messageOf(response?.data) ?? (typeof e.message === 'string' ? e.message : String(err));
  if (response === undefined) {
    // No HTTP answer at all: connection refused/reset, DNS, TLS, timeout.
    return new GitHubError('retryable', `${what}: GitHub unreachable (${githubMessage})`, undefined);
  }
  const headers = response.headers ?? {};
  const header = (name: string): string | undefined => {
    const v = headers[name];
    return v === undefined ? undefined : String(v);
  };
  if (status === 403 || status === 429) {
    const retryAfter = header('retry-after');
    if (retryAfter !== undefined && /^\d+$/.test(retryAfter.trim())) {
      return new GitHubError('rate-limited', `${what}: GitHub secondary rate limit, retry after ${retryAfter}s`, status, now + Number(retryAfter) * 1000);
    }
    const reset = header('x-ratelimit-reset');
    if (header('x-ratelimit-remaining') === '0' && reset !== undefined && /^\d+$/.test(reset)) {
      return new GitHubError('rate-limited', `${what}: GitHub rate limit exhausted until ${new Date(Number(reset) * 1000).toISOString()}`, status, resumeAfterReset(Number(reset), now));
    }
    if (status === 429 || /rate limit/i.test(githubMessage)) {
      return new GitHubError('rate-limited', `${what}: GitHub rate limit (${githubMessage})`, status, now + SECONDARY_DEFAULT_WAIT_MS);
    }
  }
  if (status !== undefined && (status >= 500 || status === 408)) {
    return new GitHubError('retryable', `${what}: GitHub answered ${status} (${githubMessage})`, status);
  }
  if (status === 404) return new GitHubError('not-found', `${what}: not found (${githubMessage})`, status);
  return new GitHubError('permanent', `${what}: GitHub answered ${status ?? 'an error'} (${githubMessage})`, status);
}

function messageOf(data: unknown): string | undefined {
  if (typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string') {
    return (data as { message: string }).message;
  }
  return undefined;
}
