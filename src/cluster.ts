import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Io } from './cli.js';
import { loadConfig, type Role } from './config.js';
import { createLogger } from './logger.js';
import { resolveRedis } from './redis/embedded.js';

/**
 * `gatehouse serve --processes N|auto`: N processes of the given role on one port (node:cluster;
 * the primary accepts connections and hands them to the workers in turn). The primary resolves
 * Redis once — in embedded mode it starts the one private redis-server and gives every worker its
 * URL — restarts a worker that dies, and on SIGTERM/SIGINT stops every worker gracefully (each
 * finishes its requests and jobs) before it exits.
 */

/** A worker that dies sooner than this after its start counts as crashing: its restart waits. */
const CRASH_WINDOW_MS = 5000;
const CRASH_BACKOFF_MS = 1000;

/** `N` or `auto` (= the host's available parallelism); undefined when the value is neither. */
export function parseProcesses(raw: string): number | undefined {
  if (raw === 'auto') return availableParallelism();
  if (!/^\d+$/.test(raw)) return undefined;
  const n = Number(raw);
  return n >= 1 && n <= 1024 ? n : undefined;
}

export async function runPrimary(processes: number, role: Role, _io: Io): Promise<number> {
  const config = loadConfig();
  const log = createLogger(config.logLevel);
  const resolved = await resolveRedis(config, config.embeddedProbe);
  if (resolved.embedded !== undefined) log.info({ port: resolved.embedded.port }, 'started a private redis-server shared by every process (embedded mode)');
  const env = { REDIS_URL: resolved.stateUrl, CACHE_REDIS_URL: resolved.cacheUrl };

  let stopping = false;
  const startedAt = new Map<number, number>();
  const fork = (): Worker => {
    const worker = cluster.fork(env);
    startedAt.set(worker.id, Date.now());
    return worker;
  };
  cluster.on('exit', (worker, code, signal) => {
    const lived = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    if (stopping) return;
    log.warn({ pid: worker.process.pid, code, signal }, 'a gatehouse process died: starting a new one');
    setTimeout(fork, lived < CRASH_WINDOW_MS ? CRASH_BACKOFF_MS : 0);
  });
  for (let i = 0; i < processes; i++) fork();
  log.info({ processes, role, port: config.port }, 'gatehouse primary started its processes');

  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'stopping every process');
      const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => w !== undefined);
      const exits = workers.map((w) => new Promise<void>((r) => (w.isDead() ? r() : w.once('exit', () => r()))));
      for (const w of workers) w.process.kill('SIGTERM');
      Promise.all(exits)
        .then(() => resolved.embedded?.stop())
        .then(
          () => resolve(0),
          () => resolve(1),
        );
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
  });
}
