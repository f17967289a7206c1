import type { Config } from './config.js';
import type { Logger } from './logger.js';
import type { ResolvedRedis } from './redis/embedded.js';

/**
 * What a person starting Gatehouse needs to know, one line each: where the dashboard is, which
 * Redis holds the data (and whether Gatehouse started it), where the admin token is — and a warning
 * for every setting that loosens a safety default or turns a feature off.
 */
export function reportRedis(log: Logger, config: Config, redis: ResolvedRedis): void {
  const probed = config.redisUrl === undefined && redis.embedded === undefined;
  const probe = config.embeddedProbe ?? { host: '127.0.0.1', port: 6379 };
  if (redis.embedded !== undefined) {
    log.info(
      { port: redis.embedded.port, dir: `${config.homeDir}/redis` },
      `Redis: no Redis at ${probe.host}:${probe.port}, so Gatehouse started a private redis-server on ${hostPort(redis.embedded.url)} (embedded mode; data in ${config.homeDir}/redis; stopped on exit)`,
    );
  } else if (probed) {
    log.warn(
      { redis: redis.stateUrl },
      `Redis: using the redis-server already running on ${probe.host}:${probe.port} (found on the probe address, not started by Gatehouse). It may hold another instance's data; set REDIS_URL to choose a Redis explicitly`,
    );
  } else {
    log.info({ redis: withoutCredentials(redis.stateUrl) }, `Redis: ${withoutCredentials(redis.stateUrl)} (REDIS_URL)`);
  }
  if (redis.cacheUrl !== redis.stateUrl) log.info(`cache Redis: ${withoutCredentials(redis.cacheUrl)} (CACHE_REDIS_URL)`);
}

/** After listening: the dashboard, the admin token, and what is loosened or off. */
export function reportListening(log: Logger, config: Config, listening: { address: string | undefined; api: boolean }): void {
  if (listening.api && listening.address !== undefined) log.info(`dashboard: ${listening.address}/ui/`);
  if (config.adminTokenSource === 'file') {
    log.info(`admin token: in ${config.homeDir}/admin.token (send it as "Authorization: Bearer <token>" to /admin/v1; paste it into the dashboard)`);
  } else {
    log.info('admin token: taken from GATEHOUSE_ADMIN_TOKEN');
  }

  if (config.upstreamAllowHttp) {
    log.warn('UPSTREAM_ALLOW_HTTP=true: connectors may call plain http:// upstreams, unencrypted (the address guard otherwise requires https://); meant for tests and on-premises networks');
  }
  if (config.upstreamAllowCidrs.length > 0) {
    log.warn(
      `UPSTREAM_ALLOW_CIDRS=${config.upstreamAllowCidrs.map((c) => c.text).join(',')}: connectors may call these addresses, which the address guard otherwise blocks as private, loopback or reserved; meant for tests and on-premises networks`,
    );
  }
  if (config.githubWebhookSecrets.length === 0) {
    log.warn(
      `webhooks disabled: GITHUB_WEBHOOK_SECRET is not set, so POST /webhooks/github refuses every delivery (503). Linked repositories sync when linked, on a manual resync${config.reconcileIntervalS > 0 ? ` and every ${config.reconcileIntervalS} s (RECONCILE_INTERVAL_S)` : ''}`,
    );
  }
}

function hostPort(url: string): string {
  const u = new URL(url);
  return u.host;
}

/** A Redis URL may carry a password (`redis://:pw@host`): never print it. */
export function withoutCredentials(url: string): string {
  try {
    const u = new URL(url);
    if (u.username === '' && u.password === '') return url;
    u.username = '';
    u.password = '';
    return u.toString().replace(/\/$/, '');
  } catch {
    return '(unparsable Redis URL)';
  }
}
