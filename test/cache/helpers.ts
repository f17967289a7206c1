import { Registry } from 'prom-client';
import type { ServerResponse } from 'node:http';
import { createLogger } from '../../src/logger.js';
import { connectRedis, closeRedis, type RedisClient } from '../../src/redis/connection.js';
import { ResponseCache, type CachedFetchInput, type CachedFetchResult, type CacheScope } from '../../src/upstream/cache/index.js';
import { UpstreamClient } from '../../src/upstream/client.js';
import { testRedisClient, testRedisUrl } from '../support/redis.js';
import { testConfig } from '../support/service.js';
import type { SeenRequest } from '../support/upstream.js';

/** One "process": its own cache Redis connection, metrics registry and single-flight map. */
export interface CacheInstance {
  cache: ResponseCache;
  metrics: Registry;
  redis: RedisClient;
  close(): Promise<void>;
}

export async function cacheInstance(options: { maxWaitMs?: number; revalidationGraceMs?: number; redisUrl?: string } = {}): Promise<CacheInstance> {
  const redis = connectRedis(options.redisUrl ?? testRedisUrl(), { connectionName: 'test:cache' });
  await new Promise<void>((resolve, reject) => {
    if (redis.status === 'ready') return resolve();
    redis.once('ready', () => resolve());
    redis.once('error', reject);
  });
  const metrics = new Registry();
  const cache = new ResponseCache({
    redis,
    metrics,
    log: createLogger('silent'),
    upstreamTimeoutMs: 5000,
    ...(options.maxWaitMs !== undefined ? { maxWaitMs: options.maxWaitMs } : {}),
    ...(options.revalidationGraceMs !== undefined ? { revalidationGraceMs: options.revalidationGraceMs } : {}),
  });
  return { cache, metrics, redis, close: () => closeRedis(redis) };
}

/** The real upstream client (undici + SSRF guard) with loopback and http allowed, as in tests of the runtime. */
export function upstreamClient(): UpstreamClient {
  return UpstreamClient.fromConfig(testConfig({ UPSTREAM_ALLOW_HTTP: 'true', UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8' }));
}

export interface FetchOptions {
  scope?: Partial<CacheScope>;
  method?: string;
  path: string;
  headers?: Record<string, string>;
  credentials?: string[];
  sensitive?: string[];
  body?: string;
}

/** Calls `cache.fetch` the way the pipeline does: the upstream call goes through the real client. */
export function fetchVia(cache: ResponseCache, client: UpstreamClient, base: string, o: FetchOptions): Promise<CachedFetchResult> {
  const url = `${base}${o.path}`;
  const headers = o.headers ?? {};
  const input: CachedFetchInput = {
    scope: { tenant: 'acme', permalink: 'weather', revision: 'rev-1', ...o.scope },
    request: { method: o.method ?? 'GET', url, headers, body: o.body },
    credentials: o.credentials ?? [],
    sensitive: o.sensitive ?? [],
    doFetch: (conditional) =>
      client.send({ url: new URL(url), method: o.method ?? 'GET', headers: { ...headers, ...conditional }, body: o.body }),
  };
  return cache.fetch(input);
}

/** A handler answering `body` with `headers`; counts nothing itself (the upstream records requests). */
export function answer(status: number, headers: Record<string, string | string[]>, body: string | Buffer = '{"ok":true}') {
  return (_req: SeenRequest, res: ServerResponse) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(body);
  };
}

/** Every key in the cache Redis with its value (strings only: entries are plain values). */
export async function dumpRedis(): Promise<{ key: string; value: Buffer }[]> {
  const client = testRedisClient();
  try {
    const out: { key: string; value: Buffer }[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const type = await client.type(key);
        if (type === 'string') out.push({ key, value: (await client.getBuffer(key)) ?? Buffer.alloc(0) });
        else if (type === 'hash') out.push({ key, value: Buffer.from(JSON.stringify(await client.hgetall(key))) });
        else if (type === 'list') out.push({ key, value: Buffer.from(JSON.stringify(await client.lrange(key, 0, -1))) });
        else if (type === 'set') out.push({ key, value: Buffer.from(JSON.stringify(await client.smembers(key))) });
        else if (type === 'zset') out.push({ key, value: Buffer.from(JSON.stringify(await client.zrange(key, 0, -1))) });
        else out.push({ key, value: Buffer.from(type) });
      }
    } while (cursor !== '0');
    return out;
  } finally {
    client.disconnect();
  }
}

export async function cacheKeys(): Promise<string[]> {
  return (await dumpRedis()).map((e) => e.key).filter((k) => k.startsWith('gh:cache:'));
}

export async function counter(metrics: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.getSingleMetric(name)?.get();
  if (metric === undefined) throw new Error(`no metric ${name}`);
  const value = metric.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return value?.value ?? 0;
}
