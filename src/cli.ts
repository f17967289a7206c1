import { parseArgs } from 'node:util';
import { ConfigError, type Role } from './config.js';
import { RedisServerMissingError } from './redis/embedded.js';
import { rotateMasterKeyCommand } from './secrets/rotate.js';

/**
 * `gatehouse <command>` (api.md §1). Each command returns its exit code; output goes to the given
 * streams so tests can run commands in-process as well as through the real binary.
 */

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

type Command = (argv: string[], io: Io) => Promise<number>;

const USAGE = `usage: gatehouse <command> [options]

commands:
  serve [--role api|worker|all]     run the service (default role: all)
  validate [FILE] [--json]          validate a connectors registry file (default ./connectors_registry.json)
  render --template FILE --context FILE [--field F]
                                    render one template with a JSON context
  rotate-master-key --new-key-file FILE [--prune]
                                    re-wrap every tenant data key under a new master key
                                    (--prune, after the restart: drop the old key's wrappings)
`;

const commands: Record<string, Command> = {
  serve: async (argv, io) => {
    const { values } = parseArgs({ args: argv, options: { role: { type: 'string', default: 'all' } }, strict: true });
    const role = values.role as Role;
    if (!['api', 'worker', 'all'].includes(role)) {
      io.stderr.write(`gatehouse serve: --role must be api, worker or all (got "${role}")\n`);
      return 2;
    }
    // Loaded on use, so `gatehouse validate` does not pay for the whole service's modules.
    const { serve } = await import('./main.js');
    await serve({ role, handleSignals: true });
    // The process now lives on the server's event loop until a signal stops it.
    return new Promise<number>(() => undefined);
  },
};

/** Lets each domain plug its command in without this file importing every domain eagerly. */
export function registerCommand(name: string, command: Command): void {
  commands[name] = command;
}

registerCommand('rotate-master-key', rotateMasterKeyCommand);
// Loaded on use: validating a file needs neither Redis nor the service's modules.
registerCommand('validate', async (argv, io) => (await import('./registry/validate-command.js')).validateCommand(argv, io));
registerCommand('render', async (argv, io) => (await import('./templates/render-command.js')).renderCommand(argv, io));

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout.write(USAGE);
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (command === undefined) {
    io.stderr.write(`gatehouse: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RedisServerMissingError) {
      io.stderr.write(`gatehouse: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`gatehouse ${name}: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    throw err;
  }
}
