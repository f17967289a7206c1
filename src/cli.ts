import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './config.js';
import { RedisServerMissingError } from './redis/embedded.js';

/**
 * `gatehouse <command>`. Each command returns its exit code; output goes to the given streams so
 * tests can run commands in-process as well as through the real binary.
 *
 * Every command is one row of COMMANDS: its synopsis and summary (the command list of
 * `gatehouse --help`), and a loader for its module, which holds the command's code and its full
 * help text. Modules load on use, so `gatehouse validate` does not pay for the service's modules.
 * `gatehouse <command> --help` and `gatehouse help <command>` print that help; exit codes are
 * 0 success, 1 failure, 2 usage error, for every command.
 */

export interface Io {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

export type Command = (argv: string[], io: Io) => Promise<number>;

/** What a command's module hands to the table: the command and its `--help` text. */
export interface CommandModule {
  run: Command;
  help: string;
}

interface CommandEntry {
  /** Arguments after the command name, as shown in the command list. */
  synopsis: string;
  summary: string;
  load: () => Promise<CommandModule>;
}

/** The commands, in the order `gatehouse --help` lists them. Add a command as one row here. */
const COMMANDS: Record<string, CommandEntry> = {
  serve: {
    synopsis: '[--role api|worker|all] [--processes N|auto]',
    summary: 'run the service (default role: all)',
    load: async () => (await import('./serve-command.js')).serveCommand,
  },
  validate: {
    synopsis: '[FILE] [--json]',
    summary: 'validate a connectors registry file (default ./connectors_registry.json)',
    load: async () => (await import('./registry/validate-command.js')).validateCommandModule,
  },
  render: {
    synopsis: '--template FILE --context FILE [--field F]',
    summary: 'render one template with a JSON context',
    load: async () => (await import('./templates/render-command.js')).renderCommandModule,
  },
  'rotate-master-key': {
    synopsis: '--new-key-file FILE [--prune]',
    summary: 're-wrap every tenant data key under a new master key',
    load: async () => (await import('./secrets/rotate.js')).rotateMasterKeyCommandModule,
  },
  types: {
    synopsis: '[FILE | --tenant T] [--out FILE]',
    summary: 'TypeScript declarations of connectors for the widget client',
    load: async () => (await import('./widget-dev/types-command.js')).typesCommandModule,
  },
  fixtures: {
    synopsis: 'record|check …',
    summary: "record connector answers for the widget client's mock mode",
    load: async () => (await import('./widget-dev/fixtures-command.js')).fixturesCommandModule,
  },
  test: {
    synopsis: '<permalink> --tenant T [--query k=v]… [--payload @FILE] …',
    summary: "run a connector (local file first, else the tenant) through the server's Test Connection",
    load: async () => (await import('./widget-dev/test-command.js')).testCommandModule,
  },
  'session-token': {
    synopsis: '--tenant T --sub U [--ttl 1h]',
    summary: 'a development session JWT signed with the tenant HS256 secret',
    load: async () => (await import('./widget-dev/session-token-command.js')).sessionTokenCommandModule,
  },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => {
    const head = `  ${name} ${c.synopsis}`;
    return head.length <= 36 ? `${head.padEnd(36)}${c.summary}` : `${head}\n${' '.repeat(36)}${c.summary}`;
  });
  return `usage: gatehouse <command> [options]

commands:
${rows.join('\n')}

  help <command>                    show a command's options (same as gatehouse <command> --help)
  --version                         print the version

exit codes: 0 success, 1 failure, 2 usage error
`;
}

/** The package's version, from the package.json above this module (src/ in tests, dist/src/ when built). */
export function version(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'gatehouse' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not here: look one directory up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

/** `--help` / `-h` anywhere before a `--` asks for the command's help instead of running it. */
function asksForHelp(argv: string[]): boolean {
  for (const arg of argv) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

export async function main(argv: string[], io: Io = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr.write(usage());
    return 2;
  }
  if (name === '--help' || name === '-h') {
    io.stdout.write(usage());
    return 0;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    io.stdout.write(`gatehouse ${version()}\n`);
    return 0;
  }
  if (name === 'help') {
    const topic = rest[0];
    if (topic === undefined) {
      io.stdout.write(usage());
      return 0;
    }
    const entry = COMMANDS[topic];
    if (entry === undefined) {
      io.stderr.write(`gatehouse help: unknown command "${topic}"\n\n${usage()}`);
      return 2;
    }
    io.stdout.write((await entry.load()).help);
    return 0;
  }
  const entry = COMMANDS[name];
  if (entry === undefined) {
    io.stderr.write(`gatehouse: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  const command = await entry.load();
  if (asksForHelp(rest)) {
    io.stdout.write(command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof RedisServerMissingError) {
      io.stderr.write(`gatehouse: ${err.message}\n`);
      return 1;
    }
    if (err instanceof TypeError && (err as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`gatehouse ${name}: ${err.message}\n\n${command.help}`);
      return 2;
    }
    throw err;
  }
}
