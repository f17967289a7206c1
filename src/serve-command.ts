import { parseArgs } from 'node:util';
import type { CommandModule, Io } from './cli.js';
import type { Role } from './config.js';

/** `gatehouse serve [--role api|worker|all]`: the service, one process (README "Configuration"). */

const SERVE_HELP = `usage: gatehouse serve [--role api|worker|all] [--processes N|auto]

Runs the service until SIGINT or SIGTERM. Configuration comes from the environment (README,
"Configuration"); without REDIS_URL and with nothing answering on 127.0.0.1:6379 it starts a
private redis-server with its data under ./.gatehouse (embedded mode).
  --role api      HTTP only: runtime, admin API, webhooks, dashboard
  --role worker   BullMQ workers only: repository syncs, commit statuses, reconciliation
  --role all      both in one process (default)
  --processes N   run N processes of that role on one port (node:cluster); auto = one per CPU.
                  A process that dies is replaced; SIGTERM stops them all gracefully
  exit 1  the configuration is invalid, or Redis cannot be reached or started
  exit 2  usage error
`;

async function serve(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' }, processes: { type: 'string' } }, strict: true });
  const role = values.role as Role;
  if (!['api', 'worker', 'all'].includes(role)) {
    io.stderr.write(`gatehouse serve: --role must be api, worker or all (got "${role}")\n`);
    return 2;
  }
  if (values.processes !== undefined) {
    const { parseProcesses, runPrimary } = await import('./cluster.js');
    const processes = parseProcesses(values.processes);
    if (processes === undefined) {
      io.stderr.write(`gatehouse serve: --processes must be a positive integer or auto (got "${values.processes}")\n`);
      return 2;
    }
    const cluster = (await import('node:cluster')).default;
    // The primary only supervises; each forked process runs the service below as usual.
    if (cluster.isPrimary) return runPrimary(processes, role, io);
  }
  // Loaded on use, so the help text does not pay for the whole service's modules.
  const { serve: start } = await import('./main.js');
  await start({ role, handleSignals: true });
  // The process now lives on the server's event loop until a signal stops it.
  return new Promise<number>(() => undefined);
}

export const serveCommand: CommandModule = { run: serve, help: SERVE_HELP };
