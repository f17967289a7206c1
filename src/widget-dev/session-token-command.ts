import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CommandModule, Io } from '../cli.js';
import { parseJsonWithPositions } from '../registry/json-source.js';
import { ADMIN_HELP, ADMIN_OPTIONS, AdminClientError, adminClient, adminErrorText } from './admin-client.js';

const HELP = `usage: gatehouse session-token --tenant T --sub U [--email E] [--first-name N] [--last-name N]
                               [--username N] [--claims FILE] [--ttl 1h] [--json]

Prints a development session JWT for widget calls (Authorization: Bearer …), signed by the
running Gatehouse with the tenant's HS256 session secret (the secret never leaves the server).
A tenant that verifies tokens with a JWKS is refused: sign those with your identity provider.
  --tenant T         the tenant id (the token's "tid")
  --sub U            the user id (user.id in templates)
  --email, --first-name, --last-name, --username
                     user.email, user.first_name, user.last_name, user.username
  --claims FILE      a JSON object of further claims, e.g. {"profile_fields": {"42": "Sales"}}
  --ttl DURATION     lifetime: 90s, 30m, 1h, 1d (default 1h, at most 1d)
  --json             print {"token", "expires_at", "claims"} instead of the token alone
${ADMIN_HELP}  exit 0  token printed
  exit 1  refused (unknown tenant, JWKS tenant, unreachable server) or a bad --claims file
  exit 2  usage error
`;

/** `90s`, `30m`, `1h`, `1d` or plain seconds → seconds; undefined when not a duration. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})\s*(s|m|h|d)?$/.exec(text.trim());
  if (m === null) return undefined;
  const unit = { s: 1, m: 60, h: 3600, d: 86_400 }[(m[2] ?? 's') as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      sub: { type: 'string' },
      email: { type: 'string' },
      'first-name': { type: 'string' },
      'last-name': { type: 'string' },
      username: { type: 'string' },
      claims: { type: 'string' },
      ttl: { type: 'string', default: '1h' },
      json: { type: 'boolean', default: false },
      ...ADMIN_OPTIONS,
    },
    strict: true,
  });
  if (values.tenant === undefined || values.sub === undefined) {
    io.stderr.write('gatehouse session-token: --tenant T and --sub U are required\n');
    return 2;
  }
  const ttl = parseDuration(values.ttl ?? '1h');
  if (ttl === undefined || ttl < 1 || ttl > 86_400) {
    io.stderr.write(`gatehouse session-token: --ttl must be a duration from 1s to 1d such as 90s, 30m, 1h (got "${values.ttl}")\n`);
    return 2;
  }
  let claims: Record<string, unknown> | undefined;
  if (values.claims !== undefined) {
    let text: string;
    try {
      text = await readFile(values.claims, 'utf8');
    } catch (err) {
      io.stderr.write(`gatehouse session-token: cannot read --claims: ${(err as Error).message}\n`);
      return 1;
    }
    const parsed = parseJsonWithPositions(text);
    if (!parsed.ok) {
      io.stderr.write(`gatehouse session-token: ${values.claims}:${parsed.error.line}:${parsed.error.column}: not valid JSON: ${parsed.error.message}\n`);
      return 1;
    }
    if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      io.stderr.write(`gatehouse session-token: ${values.claims} must hold a JSON object of claims, e.g. {"profile_fields": {"42": "Sales"}}\n`);
      return 1;
    }
    claims = parsed.value as Record<string, unknown>;
  }
  const body: Record<string, unknown> = { sub: values.sub, ttl_s: ttl };
  if (claims !== undefined) {
    // Profile fields have their own place in the request; other claims travel as they are.
    const { profile_fields, ...rest } = claims;
    if (profile_fields !== undefined) body.profile_fields = profile_fields;
    if (Object.keys(rest).length > 0) body.claims = rest;
  }
  for (const [flag, name] of [['email', 'email'], ['first-name', 'first_name'], ['last-name', 'last_name'], ['username', 'username']] as const) {
    if (values[flag] !== undefined) body[name] = values[flag];
  }
  try {
    const admin = adminClient(values);
    const answer = await admin.call('POST', `/tenants/${encodeURIComponent(values.tenant)}/session-token`, body);
    if (answer.status !== 200) {
      io.stderr.write(`gatehouse session-token: ${adminErrorText(answer)}\n`);
      return 1;
    }
    io.stdout.write(values.json ? `${JSON.stringify(answer.body, null, 2)}\n` : `${answer.body.token}\n`);
    return 0;
  } catch (err) {
    if (err instanceof AdminClientError) {
      io.stderr.write(`gatehouse session-token: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

export const sessionTokenCommandModule: CommandModule = { run, help: HELP };
