import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';

/**
 * Redis connection factory. One URL syntax covers the deployments we support:
 *   redis://[user:pass@]host:port[/db]        standalone
 *   rediss://…                                 standalone over TLS
 *   redis+sentinel://[:pass@]h1:p1,h2:p2/name[/db]   Sentinel (name = master group)
 *   redis+cluster://[:pass@]h1:p1,h2:p2       Cluster (use rediss+cluster:// for TLS)
 */

export type RedisClient = Redis | Cluster;

export type RedisTarget =
  | { kind: 'standalone'; url: string }
  | { kind: 'sentinel'; sentinels: { host: string; port: number }[]; name: string; db: number; password?: string; username?: string; tls: boolean }
  | { kind: 'cluster'; nodes: { host: string; port: number }[]; password?: string; username?: string; tls: boolean };

export class RedisUrlError extends Error {}

export function parseRedisUrl(raw: string): RedisTarget {
  const m = /^(redis|rediss)\+(sentinel|cluster):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?#]+)(?:\/([^/?#]*))?(?:\/(\d+))?$/.exec(raw);
  if (m === null) {
    if (/^rediss?:\/\//.test(raw)) {
      try {
        new URL(raw);
      } catch {
        throw new RedisUrlError('not a valid redis:// URL');
      }
      return { kind: 'standalone', url: raw };
    }
    throw new RedisUrlError('expected redis://, rediss://, redis+sentinel:// or redis+cluster://');
  }
  const [, scheme, mode, user, pass, hostList, name, db] = m;
  const hosts = hostList!.split(',').map((h) => {
    const hm = /^\[?([^\]]+?)\]?(?::(\d+))?$/.exec(h.trim());
    if (hm === null) throw new RedisUrlError(`"${h}" is not host:port`);
    return { host: hm[1]!, port: hm[2] === undefined ? (mode === 'sentinel' ? 26379 : 6379) : Number(hm[2]) };
  });
  const auth = {
    ...(user ? { username: decodeURIComponent(user) } : {}),
    ...(pass !== undefined && pass !== '' ? { password: decodeURIComponent(pass) } : {}),
  };
  const tls = scheme === 'rediss';
  if (mode === 'sentinel') {
    if (!name) throw new RedisUrlError('redis+sentinel:// needs the master group name as the path, e.g. redis+sentinel://h1:26379,h2:26379/mymaster');
    return { kind: 'sentinel', sentinels: hosts, name, db: db === undefined ? 0 : Number(db), tls, ...auth };
  }
  return { kind: 'cluster', nodes: hosts, tls, ...auth };
}

export interface ConnectOptions {
  /** Name shown in CLIENT LIST, useful when operators inspect a shared Redis. */
  connectionName: string;
  /** BullMQ workers need `null` here (blocking commands must not be retried by ioredis). */
  maxRetriesPerRequest?: number | null;
  lazyConnect?: boolean;
  /**
   * PEM of the CA(s) the server certificate of a TLS URL (rediss…) must chain to (REDIS_CA_FILE);
   * absent: Node's default roots. Ignored for plain redis:// URLs.
   */
  ca?: string;
}

export function connectRedis(raw: string, options: ConnectOptions): RedisClient {
  const target = parseRedisUrl(raw);
  const common: RedisOptions = {
    connectionName: options.connectionName,
    maxRetriesPerRequest: options.maxRetriesPerRequest === undefined ? 3 : options.maxRetriesPerRequest,
    enableReadyCheck: true,
    lazyConnect: options.lazyConnect ?? false,
    // Back off up to 2 s between reconnects; never give up (a Redis restart must not kill the service).
    retryStrategy: (times) => Math.min(times * 100, 2000),
  };
  const tls = options.ca === undefined ? {} : { ca: options.ca };
  switch (target.kind) {
    case 'standalone':
      // ioredis turns TLS on for rediss:// itself; these options only add the CA to trust.
      return new Redis(target.url, target.url.startsWith('rediss://') ? { ...common, tls } : common);
    case 'sentinel':
      return new Redis({
        ...common,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        ...(target.password !== undefined ? { password: target.password, sentinelPassword: target.password } : {}),
        ...(target.username !== undefined ? { username: target.username } : {}),
        ...(target.tls ? { tls, sentinelTLS: tls, enableTLSForSentinelMode: true } : {}),
      });
    case 'cluster': {
      const clusterOptions: ClusterOptions = {
        redisOptions: {
          ...common,
          ...(target.password !== undefined ? { password: target.password } : {}),
          ...(target.username !== undefined ? { username: target.username } : {}),
          ...(target.tls ? { tls } : {}),
        },
        lazyConnect: options.lazyConnect ?? false,
        ...(options.maxRetriesPerRequest === null ? { maxRedirections: 16 } : {}),
      };
      return new Cluster(target.nodes, clusterOptions);
    }
  }
}

/** True when the server answers PING within `timeoutMs`. */
export async function redisAnswers(client: RedisClient, timeoutMs = 1000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const reply = await Promise.race([
      client.ping(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return reply === 'PONG';
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Closes a connection, waiting for queued replies, but never hangs shutdown for more than `timeoutMs`. */
export async function closeRedis(client: RedisClient, timeoutMs = 2000): Promise<void> {
  if (client.status === 'end') return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.quit().catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        client.disconnect();
        resolve();
      }, timeoutMs);
    }),
  ]);
  clearTimeout(timer);
}
