import { spawn, type ChildProcess } from 'node:child_process';

/**
 * redis-server / redis-sentinel processes a test starts itself on loopback (TLS, Sentinel), with
 * their output kept for the failure message, and a polling wait for the conditions they reach.
 */

export interface RedisProcess {
  child: ChildProcess;
  output(): string;
  /** SIGKILL (a crash: no shutdown save, no goodbye to replicas or sentinels). */
  kill(): Promise<void>;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

export function spawnRedis(binary: 'redis-server' | 'redis-sentinel', args: string[], cwd: string): RedisProcess {
  const child = spawn(binary, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.stderr!.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-20_000)));
  child.on('error', (err) => (output += `\n${binary}: ${err.message}`));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null) resolve();
    child.once('exit', () => resolve());
  });
  const signal = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return {
    child,
    output: () => output,
    kill: () => signal('SIGKILL'),
    async stop() {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await signal('SIGTERM');
      clearTimeout(timer);
    },
  };
}

/** Polls `check` until it returns true (errors count as false); fails naming `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await Promise.resolve().then(check).catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
