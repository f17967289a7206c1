import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { flushTestRedis } from '../support/redis.js';
import { startServe, type ServeProcess } from '../support/serve-process.js';

const ADMIN = 'processes-test-admin-token-0123456789';
const MASTER = randomBytes(32).toString('base64');

/** One fresh connection per call, so the cluster primary hands each to the next process. */
function healthz(url: string): Promise<{ pid: number }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/healthz`, { agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (JSON.parse(body).status === 'ok' ? resolve({ pid: Number(res.headers['x-gatehouse-pid']) }) : reject(new Error(body))));
    });
    req.on('error', reject);
    // A connection handed to a process that just died must not hang the poll.
    req.setTimeout(3000, () => req.destroy(new Error('no answer')));
    req.end();
  });
}

async function pidsAnswering(url: string, want: number, timeoutMs = 90_000): Promise<Set<number>> {
  const seen = new Set<number>();
  const deadline = Date.now() + timeoutMs;
  while (seen.size < want) {
    if (Date.now() > deadline) throw new Error(`only ${seen.size} of ${want} processes answered`);
    const r = await healthz(url).catch(() => undefined);
    if (r !== undefined) seen.add(r.pid);
    else await new Promise((res) => setTimeout(res, 50));
  }
  return seen;
}

describe('gatehouse serve --processes', () => {
  let serve: ServeProcess | undefined;
  afterAll(() => {
    if (serve !== undefined && serve.child.exitCode === null) serve.child.kill('SIGKILL');
  });

  it('runs two processes on one port, replaces a killed one, and stops them all on SIGTERM', async () => {
    await flushTestRedis();
    serve = await startServe({ adminToken: ADMIN, masterKey: MASTER, role: 'api', args: ['--processes', '2'] });
    const first = await pidsAnswering(serve.url, 2);
    expect(first.size).toBe(2);
    expect(first.has(serve.child.pid!)).toBe(false);

    const [victim] = [...first];
    process.kill(victim!, 'SIGKILL');
    // Two processes answer again, neither of them the killed one.
    const now = new Set<number>();
    await expect
      .poll(
        async () => {
          const r = await healthz(serve!.url).catch(() => undefined);
          if (r !== undefined && r.pid !== victim) now.add(r.pid);
          return now.size;
        },
        { timeout: 90_000, interval: 50 },
      )
      .toBe(2);
    expect(now.has(victim!)).toBe(false);

    serve.child.kill('SIGTERM');
    expect(await serve.exited).toBe(0);
    for (const pid of now) expect(() => process.kill(pid, 0)).toThrow();
  }, 180_000);

  it('a --processes value that is not a positive integer or auto is a usage error naming the flag', async () => {
    for (const bad of ['0', '-1', 'two', '1.5', '']) {
      let err = '';
      const code = await main(['serve', `--processes=${bad}`], { stdout: { write: () => true } as never, stderr: { write: (s: string) => ((err += s), true) } as never });
      expect(code).toBe(2);
      expect(err).toContain('--processes must be a positive integer or auto');
    }
  });
});
