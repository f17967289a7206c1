import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, pingRedis } from '../../src/redis/embedded.js';
import { testRedisUrl } from '../support/redis.js';

/**
 * `gatehouse serve` as a fresh checkout runs it (npm start): no REDIS_URL, nothing on the probe
 * address (GATEHOUSE_EMBEDDED_PROBE points at a free port so the test never touches 127.0.0.1:6379),
 * an empty GATEHOUSE_HOME.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

interface LogLine {
  msg?: string;
  port?: number;
  address?: string;
  [k: string]: unknown;
}

function waitFor(lines: LogLine[], predicate: (l: LogLine) => boolean, child: ChildProcess, timeoutMs = 25_000): Promise<LogLine> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const timer = setInterval(() => {
      const hit = lines.find(predicate);
      if (hit !== undefined) {
        clearInterval(timer);
        resolve(hit);
      } else if (child.exitCode !== null || Date.now() - started > timeoutMs) {
        clearInterval(timer);
        reject(new Error(`log line not seen (exit ${child.exitCode}); got:\n${lines.map((l) => JSON.stringify(l)).join('\n')}`));
      }
    }, 25);
  });
}

describe('gatehouse serve (embedded mode, real binary)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
  });

  it('starts a private redis-server, answers /healthz, writes 0600 keys, prints the admin-token location, stops cleanly on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-serve-'));
    const home = join(dir, 'home');
    const port = await freePort();
    const probePort = await freePort();
    child = spawn(process.execPath, [join(root, 'bin', 'gatehouse.js'), 'serve'], {
      cwd: dir,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        NODE_ENV: 'development',
        GATEHOUSE_HOME: home,
        GATEHOUSE_EMBEDDED_PROBE: `127.0.0.1:${probePort}`,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        // Nothing in this test may leave the machine: no reconcile pass, GitHub pointed at loopback.
        RECONCILE_INTERVAL_S: '0',
        GITHUB_API_URL: 'http://127.0.0.1:9',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: LogLine[] = [];
    let stderr = '';
    let buffer = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl: number;
      while ((nl = buffer.indexOf('\n')) !== -1) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        try {
          lines.push(JSON.parse(line) as LogLine);
        } catch {
          lines.push({ msg: line });
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));

    await waitFor(lines, (l) => l.msg === 'gatehouse is listening', child).catch((err: Error) => {
      throw new Error(`${err.message}\nstderr: ${stderr}`);
    });

    const embeddedLine = lines.find((l) => typeof l.msg === 'string' && l.msg.includes('started a private redis-server'));
    expect(embeddedLine?.msg).toContain(`no Redis at 127.0.0.1:${probePort}`);
    const redisPort = embeddedLine!.port!;
    expect(await pingRedis('127.0.0.1', redisPort)).toBe(true);

    const tokenLine = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('admin token:'));
    expect(tokenLine?.msg).toContain(join(home, 'admin.token'));

    // One line each for the dashboard and the admin token; a warning for what is switched off.
    expect(lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('dashboard:'))?.msg).toBe(`dashboard: http://127.0.0.1:${port}/ui/`);
    const webhooks = lines.find((l) => typeof l.msg === 'string' && l.msg.startsWith('webhooks disabled'));
    expect(webhooks).toMatchObject({ level: 40 });
    expect(webhooks?.msg).toContain('GITHUB_WEBHOOK_SECRET is not set');
    // the guard is not loosened here, so nothing says it is
    expect(lines.some((l) => typeof l.msg === 'string' && /UPSTREAM_ALLOW_(HTTP|CIDRS)/.test(l.msg))).toBe(false);
    // the bare address leads to the dashboard
    const bare = await fetch(`http://127.0.0.1:${port}/`, { redirect: 'manual' });
    expect([bare.status, bare.headers.get('location')]).toEqual([302, '/ui/']);

    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });

    for (const name of ['master.key', 'admin.token']) {
      const file = join(home, name);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    expect(Buffer.from(readFileSync(join(home, 'master.key'), 'utf8').trim(), 'base64')).toHaveLength(32);
    expect(readFileSync(join(home, 'admin.token'), 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(home).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(home, 'redis')).some((f) => f === 'appendonlydir' || f.endsWith('.aof'))).toBe(true);

    child.kill('SIGTERM');
    const code = await exited;
    expect(code).toBe(0);
    expect(lines.some((l) => l.msg === 'shutting down')).toBe(true);
    // the private redis-server went down with the service
    expect(await pingRedis('127.0.0.1', redisPort)).toBe(false);
    expect(existsSync(join(home, 'admin.token'))).toBe(true);
  });
});

describe.runIf(existsSync('/usr/bin/script'))('gatehouse serve on a terminal (real binary under a pseudo-terminal)', () => {
  let child: ChildProcess | undefined;
  afterAll(() => {
    if (child?.pid !== undefined && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  });

  it('prints human-readable lines, says it uses a Redis it found on the probe address, and warns when the address guard is loosened', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-serve-tty-'));
    const port = await freePort();
    const found = new URL(testRedisUrl());
    // util-linux `script` gives the service a pseudo-terminal as stdout, as a person's shell does.
    child = spawn('script', ['-qefc', `${process.execPath} ${join(root, 'bin', 'gatehouse.js')} serve`, '/dev/null'], {
      cwd: dir,
      detached: true,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: dir,
        TERM: 'dumb',
        NODE_ENV: 'development',
        GATEHOUSE_HOME: join(dir, 'home'),
        GATEHOUSE_EMBEDDED_PROBE: `${found.hostname}:${found.port}`,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'info',
        RECONCILE_INTERVAL_S: '0',
        GITHUB_API_URL: 'http://127.0.0.1:9',
        GITHUB_WEBHOOK_SECRET: 'a-webhook-secret-for-this-test',
        UPSTREAM_ALLOW_HTTP: 'true',
        UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const deadline = Date.now() + 25_000;
    while (!out.includes('gatehouse is listening')) {
      if (child.exitCode !== null || Date.now() > deadline) throw new Error(`no "listening" line (exit ${child.exitCode}):\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
    const text = out.replace(/\x1b\[[0-9;]*m/g, '');
    const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
    // pino-pretty's lines: "[12:34:56.789] INFO: message", not JSON objects
    expect(lines.some((l) => l.trimStart().startsWith('{'))).toBe(false);
    expect(text).toMatch(/\[\d\d:\d\d:\d\d\.\d{3}\] INFO: gatehouse is listening/);
    expect(text).toMatch(new RegExp(`WARN: Redis: using the redis-server already running on ${found.hostname}:${found.port} \\(found on the probe address, not started by Gatehouse\\)\\. It may hold another instance's data`));
    expect(text).toMatch(/WARN: UPSTREAM_ALLOW_HTTP=true: connectors may call plain http:\/\/ upstreams/);
    expect(text).toMatch(/WARN: UPSTREAM_ALLOW_CIDRS=127\.0\.0\.0\/8: connectors may call these addresses/);
    expect(text).toContain(`INFO: dashboard: http://127.0.0.1:${port}/ui/`);
    expect(text).not.toContain('webhooks disabled');
    process.kill(-child.pid!, 'SIGTERM');
    await new Promise<void>((resolve) => (child!.exitCode !== null ? resolve() : child!.once('exit', () => resolve())));
  });
});
