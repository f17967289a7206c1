import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, pingRedis, resolveRedis, RedisServerMissingError, startRedisServer, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { testRedisUrl } from '../support/redis.js';

/** Embedded mode (`gatehouse serve` with no Redis configured): nothing answering on the probe address → a private redis-server child. */

const root = fileURLToPath(new URL('../..', import.meta.url));

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('embedded Redis', () => {
  const started: EmbeddedRedis[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((e) => e.stop()));
  });

  it('starts a private redis-server with AOF in the home directory when nothing answers on the probe address', async () => {
    const homeDir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
    const probe = { host: '127.0.0.1', port: await freePort() };
    expect(await pingRedis(probe.host, probe.port)).toBe(false);

    const resolved = await resolveRedis({ redisUrl: undefined, cacheRedisUrl: undefined, homeDir }, probe);
    expect(resolved.embedded).toBeDefined();
    const embedded = resolved.embedded!;
    started.push(embedded);
    expect(resolved.stateUrl).toBe(`redis://127.0.0.1:${embedded.port}`);
    expect(resolved.cacheUrl).toBe(resolved.stateUrl);
    expect(alive(embedded.pid)).toBe(true);

    const client = new Redis(resolved.stateUrl, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', join(homeDir, 'redis')]);
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
      await client.set('gh:probe', '1');
    } finally {
      client.disconnect();
    }
    // Redis 7 keeps the AOF in <dir>/appendonlydir; older versions write <dir>/appendonly.aof.
    const files = readdirSync(join(homeDir, 'redis'));
    expect(files.some((f) => f === 'appendonlydir' || f.endsWith('.aof'))).toBe(true);

    await embedded.stop();
    expect(alive(embedded.pid)).toBe(false);
    expect(await pingRedis('127.0.0.1', embedded.port)).toBe(false);
  });

  it('keeps data across restarts (AOF)', async () => {
    const homeDir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
    const probe = { host: '127.0.0.1', port: await freePort() };
    const first = (await resolveRedis({ redisUrl: undefined, cacheRedisUrl: undefined, homeDir }, probe)).embedded!;
    started.push(first);
    let client = new Redis(first.url, { maxRetriesPerRequest: 1 });
    await client.set('gh:kept', 'yes');
    client.disconnect();
    await first.stop();

    const second = (await resolveRedis({ redisUrl: undefined, cacheRedisUrl: undefined, homeDir }, probe)).embedded!;
    started.push(second);
    client = new Redis(second.url, { maxRetriesPerRequest: 1 });
    try {
      expect(await client.get('gh:kept')).toBe('yes');
    } finally {
      client.disconnect();
    }
  });

  it('uses a Redis that answers on the probe address instead of starting one', async () => {
    const port = Number(new URL(testRedisUrl()).port);
    const homeDir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
    const resolved = await resolveRedis({ redisUrl: undefined, cacheRedisUrl: undefined, homeDir }, { host: '127.0.0.1', port });
    expect(resolved).toEqual({ stateUrl: `redis://127.0.0.1:${port}`, cacheUrl: `redis://127.0.0.1:${port}`, embedded: undefined });
    expect(existsSync(join(homeDir, 'redis'))).toBe(false);
  });

  it('uses REDIS_URL / CACHE_REDIS_URL when set, without probing', async () => {
    const resolved = await resolveRedis({ redisUrl: 'redis://127.0.0.1:1/0', cacheRedisUrl: 'redis://127.0.0.1:2/0', homeDir: '/nonexistent' });
    expect(resolved).toEqual({ stateUrl: 'redis://127.0.0.1:1/0', cacheUrl: 'redis://127.0.0.1:2/0', embedded: undefined });
  });

  it('fails with a message saying how to install redis-server when the binary is missing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
    const error = await startRedisServer({ dataDir, binary: join(dataDir, 'no-such-redis-server') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RedisServerMissingError);
    expect((error as Error).message).toMatch(/redis-server binary was not found.*apt-get install redis-server/s);
  });

  it('`gatehouse serve` exits 1 with that message when no Redis answers and redis-server is not on PATH', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-embedded-'));
    const probePort = await freePort();
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(root, 'bin', 'gatehouse.js'), 'serve'],
        {
          cwd: dir,
          timeout: 20_000,
          env: {
            PATH: join(dir, 'empty-bin'),
            HOME: dir,
            GATEHOUSE_HOME: join(dir, 'home'),
            GATEHOUSE_EMBEDDED_PROBE: `127.0.0.1:${probePort}`,
            PORT: '0',
            LOG_LEVEL: 'silent',
          },
        },
        (err, _stdout, stderr) => resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : null, stderr }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/redis-server binary was not found on PATH/);
    expect(result.stderr).toMatch(/apt-get install redis-server/);
    expect(result.stderr).toMatch(/REDIS_URL/);
  });
});
