import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { parseCidrList, type Cidr } from '../config.js';
import type { CommandModule, Io } from '../cli.js';
import { decodeUtf8Source } from './json-source.js';
import type { ValidationIssue } from './model.js';
import { validateRegistryText } from './validate.js';

/**
 * `gatehouse validate [FILE] [--json]` (README.md). Needs neither Redis nor keys: it reads only the
 * two environment variables the URL rules honour (docs/design.md#address-guard), so it runs anywhere — a laptop, a
 * pre-commit hook, CI.
 */

const DEFAULT_FILE = 'connectors_registry.json';

export const VALIDATE_HELP = `usage: gatehouse validate [FILE] [--json]

Validates a connectors registry file (default ./connectors_registry.json).
  exit 0  the file is valid
  exit 1  the file is invalid (every problem printed as FILE:LINE:COL: <json-pointer>: <message>),
          or it cannot be read, or UPSTREAM_ALLOW_HTTP / UPSTREAM_ALLOW_CIDRS are malformed
  exit 2  usage error (unknown option, more than one FILE)
  --json  print {"valid": bool, "errors": [{"path", "line", "column", "message", "permalink"?}]}
`;

/** UPSTREAM_ALLOW_HTTP / UPSTREAM_ALLOW_CIDRS, parsed like src/config.ts does, without the rest of the config. */
export function urlPolicyFromEnv(env: Record<string, string | undefined>): { allowHttp: boolean; allowCidrs: Cidr[]; problems: string[] } {
  const problems: string[] = [];
  const allowCidrs = parseCidrList(env.UPSTREAM_ALLOW_CIDRS ?? '', problems);
  let allowHttp = false;
  const raw = (env.UPSTREAM_ALLOW_HTTP ?? '').trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(raw)) allowHttp = true;
  else if (!['', '0', 'false', 'no', 'off'].includes(raw)) problems.push(`UPSTREAM_ALLOW_HTTP: "${env.UPSTREAM_ALLOW_HTTP}" is not a boolean (use true or false)`);
  return { allowHttp, allowCidrs, problems };
}

export async function validateCommand(argv: string[], io: Io, env: Record<string, string | undefined> = process.env): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } },
    allowPositionals: true,
    strict: true,
  });
  if (values.help === true) {
    io.stdout.write(VALIDATE_HELP);
    return 0;
  }
  if (positionals.length > 1) {
    io.stderr.write(`gatehouse validate: expected at most one FILE, got ${positionals.length}\n`);
    return 2;
  }
  const file = positionals[0] ?? DEFAULT_FILE;
  const json = values.json === true;

  const policy = urlPolicyFromEnv(env);
  if (policy.problems.length > 0) {
    io.stderr.write(`gatehouse validate: invalid configuration:\n${policy.problems.map((p) => `  - ${p}`).join('\n')}\n`);
    return 1;
  }

  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const reason = e.code === 'ENOENT' ? 'no such file' : e.code === 'EISDIR' ? 'it is a directory' : e.code === 'EACCES' ? 'permission denied' : e.message;
    const message = `cannot read ${file}: ${reason}${positionals.length === 0 && e.code === 'ENOENT' ? ' (pass the registry file as an argument: gatehouse validate path/to/connectors_registry.json)' : ''}`;
    if (json) io.stdout.write(`${JSON.stringify({ valid: false, errors: [{ path: '', line: 0, column: 0, message }] })}\n`);
    else io.stderr.write(`gatehouse validate: ${message}\n`);
    return 1;
  }

  const decoded = decodeUtf8Source(bytes);
  const result: ReturnType<typeof validateRegistryText> = decoded.ok
    ? validateRegistryText(decoded.text, { allowHttp: policy.allowHttp, allowCidrs: policy.allowCidrs })
    : { ok: false, errors: [{ path: '', line: decoded.error.line, column: decoded.error.column, message: decoded.error.message }] };
  const errors: ValidationIssue[] = result.ok ? [] : result.errors;
  if (json) {
    io.stdout.write(`${JSON.stringify({ valid: result.ok, errors }, null, 2)}\n`);
    return result.ok ? 0 : 1;
  }
  if (result.ok) {
    const { connectors, composite_connectors: composites } = result.value;
    io.stdout.write(`${file}: valid (${plural(connectors.length, 'connector')}, ${plural(composites.length, 'composite connector')})\n`);
    return 0;
  }
  for (const e of errors) io.stdout.write(`${issueLine(file, e)}\n`);
  io.stderr.write(`${file}: ${plural(errors.length, 'error')}\n`);
  return 1;
}

/**
 * One problem as `file:line:column: /json/pointer: message`, the form editors and CI annotators read.
 * A problem with the whole file (invalid JSON, not an object) has no pointer, so none is printed.
 */
export function issueLine(file: string, e: ValidationIssue): string {
  return e.path === '' ? `${file}:${e.line}:${e.column}: ${e.message}` : `${file}:${e.line}:${e.column}: ${e.path}: ${e.message}`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export const validateCommandModule: CommandModule = { run: (argv, io) => validateCommand(argv, io), help: VALIDATE_HELP };
