import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CommandModule, Io } from '../cli.js';
import { decodeUtf8Source, parseJsonWithPositions } from '../registry/json-source.js';
import { validateRegistryText } from '../registry/validate.js';
import { issueLine, urlPolicyFromEnv } from '../registry/validate-command.js';
import { ADMIN_HELP, ADMIN_OPTIONS, AdminClientError, adminClient, adminErrorText, type AdminClient } from './admin-client.js';

/**
 * `gatehouse test <permalink>`: a connector author runs a connector from their checkout, the way
 * Test Connection does, through a running Gatehouse, so secrets stay on the server. The connector
 * comes from the local registry file first (`source: local`, sent unsaved), else from the tenant
 * (`source: remote`, run by permalink). Every run is kept under .gatehouse/runs/ with sensitive
 * headers redacted.
 */

const DEFAULT_FILE = 'connectors_registry.json';

const HELP = `usage: gatehouse test <permalink> --tenant T [--file FILE] [--query k=v]… [--path-param k=v]…
                      [--header k=v]… [--payload @file.json] [--as-user claims.json] [--json] [--verbose]

Runs a connector or composite connector through the server's Test Connection: secrets, auth,
templates and the upstream call happen on the server, without its cache. The connector is taken
from the local registry file first (--file, default ./connectors_registry.json; validated like
gatehouse validate, honouring UPSTREAM_ALLOW_HTTP / UPSTREAM_ALLOW_CIDRS), else from the tenant.
The first line says which: "source: local" or "source: remote".
  --tenant T             the tenant whose secrets, variables and settings apply
  --file FILE            the registry file (default ./connectors_registry.json when it exists)
  --query k=v            a query parameter (repeatable)
  --path-param k=v       a path parameter (repeatable)
  --header k=v           a request header (repeatable)
  --payload @FILE        the request body: a JSON file (inline JSON is refused)
  --as-user FILE         a JSON object standing in for the signed-in user: id (or sub), email,
                         first_name, last_name, username, profile_fields
  --json                 print the whole result as JSON
  --verbose              also print the debug request (X-Debug-Request) and the timing
${ADMIN_HELP}Runs are kept in .gatehouse/runs/ (GATEHOUSE_HOME) with sensitive header values redacted.
  exit 0  the connector answered 2xx
  exit 1  it answered otherwise, or the server is unreachable, the token is wrong, the local file
          is invalid, or the connector is defined nowhere
  exit 2  usage error
`;

/** Header names whose values never go into a saved run. */
const SENSITIVE_HEADER = /^(authorization|proxy-authorization|cookie|set-cookie)$|token|secret|key|auth|session|password|credential/i;
const REDACTED = '[redacted]';

interface Options {
  permalink: string;
  tenant: string;
  file: string | undefined;
  query: Record<string, string>;
  pathParams: Record<string, string>;
  headers: Record<string, string>;
  payloadFile: string | undefined;
  userFile: string | undefined;
  json: boolean;
  verbose: boolean;
  admin: { server?: string | undefined; 'token-file'?: string | undefined };
}

class UsageError extends Error {}
class TestFailure extends Error {}

function pairs(list: string[] | undefined, option: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const i = item.indexOf('=');
    if (i <= 0) throw new UsageError(`${option} expects k=v (got "${item}")`);
    out[item.slice(0, i)] = item.slice(i + 1);
  }
  return out;
}

function parse(argv: string[]): Options {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      file: { type: 'string' },
      query: { type: 'string', multiple: true },
      'path-param': { type: 'string', multiple: true },
      header: { type: 'string', multiple: true },
      payload: { type: 'string' },
      'as-user': { type: 'string' },
      json: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      ...ADMIN_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) throw new UsageError(`expected one <permalink>, got ${positionals.length}`);
  if (values.tenant === undefined) throw new UsageError('--tenant T is required (the tenant whose secrets and settings apply)');
  let payloadFile: string | undefined;
  if (values.payload !== undefined) {
    if (!values.payload.startsWith('@') || values.payload.length < 2) {
      throw new UsageError('--payload takes a file reference, --payload @body.json: inline JSON is not accepted');
    }
    payloadFile = values.payload.slice(1);
  }
  return {
    permalink: positionals[0]!,
    tenant: values.tenant,
    file: values.file,
    query: pairs(values.query, '--query'),
    pathParams: pairs(values['path-param'], '--path-param'),
    headers: pairs(values.header, '--header'),
    payloadFile,
    userFile: values['as-user'],
    json: values.json === true,
    verbose: values.verbose === true,
    admin: { server: values.server, 'token-file': values['token-file'] },
  };
}

/** A JSON file the command reads (payload, user), with the reason when it cannot. */
async function readJsonFile(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TestFailure(`cannot read the ${what} file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok) throw new TestFailure(`${file}:${parsed.error.line}:${parsed.error.column}: the ${what} is not valid JSON: ${parsed.error.message}`);
  return parsed.value;
}

function userOf(value: unknown, file: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new TestFailure(`${file}: the user must be a JSON object such as {"id": "u1", "email": "jo@example.com"}`);
  const claims = value as Record<string, unknown>;
  const user: Record<string, unknown> = {};
  const id = claims.id ?? claims.sub;
  if (id !== undefined) user.id = id;
  for (const k of ['email', 'first_name', 'last_name', 'username', 'profile_fields']) if (claims[k] !== undefined) user[k] = claims[k];
  return user;
}

type Target = { source: 'local'; body: { connector: unknown } | { composite: unknown } } | { source: 'remote'; body: { permalink: string } };

/**
 * The local definition when the file has it. A file that exists but is invalid stops the run:
 * testing another copy than the one being edited would mislead.
 */
async function localTarget(options: Options, io: Io, env: NodeJS.ProcessEnv): Promise<Target | undefined> {
  const file = options.file ?? DEFAULT_FILE;
  if (options.file === undefined && !existsSync(file)) return undefined;
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    throw new TestFailure(`cannot read the local registry file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const decoded = decodeUtf8Source(bytes);
  const policy = urlPolicyFromEnv(env);
  if (policy.problems.length > 0) throw new TestFailure(`invalid configuration: ${policy.problems.join('; ')}`);
  const result = decoded.ok
    ? validateRegistryText(decoded.text, { allowHttp: policy.allowHttp, allowCidrs: policy.allowCidrs })
    : { ok: false as const, errors: [{ path: '', ...decoded.error }] };
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`${issueLine(file, e)}\n`);
    throw new TestFailure(`the local registry file ${file} is invalid (${result.errors.length} ${result.errors.length === 1 ? 'error' : 'errors'}): fix it, or pass --file with another file`);
  }
  const connector = result.value.connectors.find((c) => c.permalink === options.permalink);
  if (connector !== undefined) return { source: 'local', body: { connector } };
  const composite = result.value.composite_connectors.find((c) => c.permalink === options.permalink);
  if (composite !== undefined) return { source: 'local', body: { composite } };
  return undefined;
}

async function remoteTarget(options: Options, client: AdminClient): Promise<Target> {
  const answer = await client.call('GET', `/tenants/${encodeURIComponent(options.tenant)}/connectors/${encodeURIComponent(options.permalink)}`);
  if (answer.status === 200) return { source: 'remote', body: { permalink: options.permalink } };
  const code = (answer.body as { error?: { code?: string } })?.error?.code;
  if (answer.status === 404 && code === 'CONNECTOR_NOT_FOUND') {
    throw new TestFailure(`Connector "${options.permalink}" is not defined in this project, and your tenant has no persisted connector under that name.`);
  }
  throw new TestFailure(`the server could not look up connector "${options.permalink}" of tenant "${options.tenant}": ${adminErrorText(answer)}`);
}

function redactHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers ?? {})) out[k] = SENSITIVE_HEADER.test(k) ? REDACTED : v;
  return out;
}

/** The run as kept on disk: what was asked and answered, sensitive header values replaced. */
async function keepRun(env: NodeJS.ProcessEnv, record: Record<string, unknown>, permalink: string): Promise<string> {
  const dir = join(resolve(env.GATEHOUSE_HOME ?? '.gatehouse'), 'runs');
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-${permalink}.json`);
  await writeFile(file, `${JSON.stringify(record, null, 2)}\n`, { mode: 0o600 });
  return file;
}

async function run(argv: string[], io: Io, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let options: Options;
  try {
    options = parse(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr.write(`gatehouse test: ${err.message}\n`);
    return 2;
  }
  try {
    const local = await localTarget(options, io, env);
    const client = adminClient(options.admin, env);
    const target = local ?? (await remoteTarget(options, client));
    const request: Record<string, unknown> = {};
    if (Object.keys(options.query).length > 0) request.queryParams = options.query;
    if (Object.keys(options.pathParams).length > 0) request.pathParams = options.pathParams;
    if (Object.keys(options.headers).length > 0) request.headers = options.headers;
    if (options.payloadFile !== undefined) request.payload = await readJsonFile(options.payloadFile, 'payload');
    const body: Record<string, unknown> = { ...target.body, request };
    if (options.userFile !== undefined) body.user = userOf(await readJsonFile(options.userFile, 'user'), options.userFile);

    const answer = await client.call('POST', `/tenants/${encodeURIComponent(options.tenant)}/connectors/test`, body);
    if (answer.status !== 200) {
      const details = (answer.body as { error?: { details?: { path?: string; message?: string }[] } })?.error?.details;
      for (const d of Array.isArray(details) ? details : []) io.stderr.write(`  ${d.path ?? ''}: ${d.message ?? ''}\n`);
      throw new TestFailure(`the server did not run the test: ${adminErrorText(answer)}`);
    }
    const result = answer.body as { status: number; headers: Record<string, string>; body: string; timing: unknown; upstream: unknown };
    const debugText = answer.headers.get('x-debug-request');
    const debug: unknown = debugText === null ? null : JSON.parse(debugText);
    const ok = result.status >= 200 && result.status < 300;
    const saved = await keepRun(env, {
      at: new Date().toISOString(),
      server: client.server,
      tenant: options.tenant,
      permalink: options.permalink,
      source: target.source,
      request: { ...request, ...(request.headers !== undefined ? { headers: redactHeaders(request.headers as Record<string, unknown>) } : {}), ...(body.user !== undefined ? { user: body.user } : {}) },
      response: { status: result.status, headers: redactHeaders(result.headers), body: result.body, upstream: result.upstream },
      debug,
      timing: result.timing,
    }, options.permalink);

    if (options.json) {
      io.stdout.write(`${JSON.stringify({ source: target.source, permalink: options.permalink, ok, ...result, debug, run: saved }, null, 2)}\n`);
      return ok ? 0 : 1;
    }
    io.stdout.write(`source: ${target.source}\n`);
    io.stdout.write(`status: ${result.status}\n`);
    const contentType = result.headers['content-type'] ?? '';
    io.stdout.write(`${contentType.includes('json') ? pretty(result.body) : result.body}\n`);
    if (options.verbose) {
      io.stdout.write(`\ndebug request (X-Debug-Request):\n${JSON.stringify(debug, null, 2)}\n`);
      io.stdout.write(`\ntiming (X-Connector-Timing):\n${JSON.stringify(result.timing, null, 2)}\n`);
      io.stdout.write(`\nrun kept in ${saved}\n`);
    }
    return ok ? 0 : 1;
  } catch (err) {
    if (err instanceof TestFailure || err instanceof AdminClientError) {
      io.stderr.write(`gatehouse test: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export const testCommandModule: CommandModule = { run: (argv, io) => run(argv, io), help: HELP };
export { run as testCommand };
