import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, pingRedis } from '../../src/redis/embedded.js';

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
