import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';

/**
 * Embedded mode (README.md): with no REDIS_URL and nothing answering on 127.0.0.1:6379, Gatehouse
 * starts a private `redis-server` child with AOF persistence in `<home>/redis` and stops it on exit.
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisServerMissingError extends Error {
  constructor() {
    super(
      'no Redis is reachable and the redis-server binary was not found on PATH.\n' +
        '  Install it (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis),\n' +
        '  or point REDIS_URL at a running Redis (e.g. REDIS_URL=redis://127.0.0.1:6379).',
    );
    this.name = 'RedisServerMissingError';
  }
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  pid: number | undefined;
  stop(): Promise<void>;
}

/** Sends PING over a raw socket: cheaper and quieter than a client with reconnect logic. */
export function pingRedis(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    let buffer = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      // "-NOAUTH" still proves a Redis is there; the client will report the auth problem clearly.
      if (buffer.includes('\r\n')) done(buffer.startsWith('+PONG') || buffer.startsWith('-NOAUTH'));
    });
    socket.on('error', () => done(false));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export function redisServerAvailable(binary = 'redis-server'): boolean {
  const probe = spawnSync(binary, ['--version'], { stdio: 'ignore' });
  return probe.error === undefined && probe.status === 0;
}

export interface StartRedisOptions {
  dataDir: string;
  binary?: string;
  port?: number;
  /** AOF on by default: embedded mode keeps tenants and secrets across restarts. */
  persistent?: boolean;
  extraArgs?: string[];
}

export async function startRedisServer(options: StartRedisOptions): Promise<EmbeddedRedis> {
  const binary = options.binary ?? 'redis-server';
  if (!redisServerAvailable(binary)) throw new RedisServerMissingError();
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const port = options.port ?? (await freePort());
  const persistent = options.persistent ?? true;
  const args = [
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--protected-mode', 'yes',
    '--dir', options.dataDir,
    '--save', '',
    '--appendonly', persistent ? 'yes' : 'no',
    '--appendfsync', 'everysec',
    '--maxmemory-policy', 'noeviction',
    '--logfile', persistent ? join(options.dataDir, 'redis.log') : '',
    ...(options.extraArgs ?? []),
  ];
  const child: ChildProcess = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));

  const deadline = Date.now() + 10_000;
  let up = false;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await pingRedis('127.0.0.1', port, 200)) {
      up = true;
      break;
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  if (!up) {
    child.kill('SIGKILL');
    throw new Error(`redis-server did not start on port ${port}: ${stderr.trim() || 'no output'}`);
  }

  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    stop() {
      stopping ??= (async () => {
        if (child.exitCode !== null) return;
        // SIGTERM makes redis-server flush the AOF before exiting.
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}

export interface ResolvedRedis {
  stateUrl: string;
  cacheUrl: string;
  embedded: EmbeddedRedis | undefined;
}

/** Applies the embedded-mode rule; `probe` is injectable so tests need not own port 6379. */
export async function resolveRedis(
  config: { redisUrl: string | undefined; cacheRedisUrl: string | undefined; homeDir: string },
  probe: { host: string; port: number } = { host: '127.0.0.1', port: 6379 },
): Promise<ResolvedRedis> {
  if (config.redisUrl !== undefined) {
    return { stateUrl: config.redisUrl, cacheUrl: config.cacheRedisUrl ?? config.redisUrl, embedded: undefined };
  }
  if (await pingRedis(probe.host, probe.port)) {
    const url = `redis://${probe.host}:${probe.port}`;
    return { stateUrl: url, cacheUrl: config.cacheRedisUrl ?? url, embedded: undefined };
  }
  const embedded = await startRedisServer({ dataDir: join(config.homeDir, 'redis') });
  return { stateUrl: embedded.url, cacheUrl: config.cacheRedisUrl ?? embedded.url, embedded };
}
