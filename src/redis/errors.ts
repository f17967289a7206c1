/**
 * Whether an error means "Redis cannot serve this command right now" (down, unreachable, failing
 * over, loading its dataset, out of memory) rather than a bug. Callers answer those with 503 and
 * `Retry-After`, so clients and GitHub retry instead of being told the service is broken.
 */

/** How long callers are told to wait before retrying (seconds). */
export const RETRY_AFTER_S = 5;

export const UNAVAILABLE_MESSAGE = 'Gatehouse cannot reach its data store (Redis) right now; retry shortly';

const NAMES = new Set(['MaxRetriesPerRequestError', 'ClusterAllFailedError']);
const MESSAGES = [
  /^Connection is closed\.$/,
  /^Command aborted due to connection close$/,
  /enableOfflineQueue options is false$/,
  /^None of startup nodes is available$/,
  /^Failed to refresh slots cache\.$/,
  // Server replies while it cannot serve: restarting, replica, failover, busy script, maxmemory.
  /^(LOADING|READONLY|CLUSTERDOWN|MASTERDOWN|TRYAGAIN|BUSY|NOREPLICAS|OOM) /,
];

export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (NAMES.has(err.name)) return true;
  return MESSAGES.some((m) => m.test(err.message));
}
