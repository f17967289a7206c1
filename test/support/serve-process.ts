import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/redis/embedded.js';
import { testRedisUrl } from './redis.js';

/**
 * The real `gatehouse serve` binary as a separate OS process on the test Redis: for what must hold
 * across processes (restart, token single flight, a shared cache), where app instances inside the
 * test process could share state by accident.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ServeProcess {
  child: ChildProcess;
  url: string;
  exited: Promise<number | null>;
  output(): string;
}

export interface ServeOptions {
  adminToken: string;
  masterKey: string;
  /** GATEHOUSE_HOME and cwd; a fresh temporary folder when absent. */
  home?: string;
  port?: number;
  role?: 'api' | 'worker' | 'all';
  env?: Record<string, string>;
  /** More `serve` arguments, e.g. ['--processes', '2']. */
  args?: string[];
}

export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const home = options.home ?? mkdtempSync(join(tmpdir(), 'gh-serve-'));
  const port = options.port ?? (await freePort());
  const child = spawn(process.execPath, [join(root, 'bin', 'gatehouse.js'), 'serve', '--role', options.role ?? 'all', ...(options.args ?? [])], {
    cwd: home,
    env: {
      PATH: process.env.PATH ?? '',
      HOME: home,
      NODE_ENV: 'development',
      GATEHOUSE_HOME: home,
      REDIS_URL: testRedisUrl(),
      GATEHOUSE_MASTER_KEY: options.masterKey,
      GATEHOUSE_ADMIN_TOKEN: options.adminToken,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      UPSTREAM_ALLOW_HTTP: 'true',
      UPSTREAM_ALLOW_CIDRS: '127.0.0.0/8',
      RECONCILE_INTERVAL_S: '0',
      GITHUB_API_URL: 'http://127.0.0.1:9',
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}:\n${output}`);
    const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`serve did not become ready:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, exited, output: () => output };
}

/** A small admin API client for a running process. */
export function adminClient(base: string, token: string) {
  return async (method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> => {
    const res = await fetch(`${base}/admin/v1${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, json: text === '' ? undefined : JSON.parse(text) };
  };
}
