import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CommandModule, Io } from '../cli.js';
import { parseJsonWithPositions } from '../registry/json-source.js';
import { ADMIN_HELP, ADMIN_OPTIONS, AdminClientError, adminClient, adminErrorText } from './admin-client.js';

/**
 * `gatehouse fixtures record|check`: fixtures for the widget client's mock mode. A call of a
 * connector or a composite is made through the server's Test Connection (the connector's secrets
 * are resolved and used on the server only) and stored as what the widget sent — query, path parameters, payload — and what it
 * got — status, Content-Type, body. Nothing else is written: no request or response headers, no
 * debug record, no user, so no credential, Authorization header or session token can land in a file.
 */

const HELP = `usage: gatehouse fixtures record --tenant T PERMALINK [--out fixtures.json] [--query k=v]...
                                 [--path k=v]... [--payload JSON | --payload-file FILE]
                                 [--header k=v]... [--user FILE]
       gatehouse fixtures check FILE

record  calls connector PERMALINK of tenant T through the server's Test Connection and adds the
        answer (errors included) to the fixtures file, replacing an earlier recording of the same
        call. A composite connector is recorded under "composites" (called with POST, like
        composite.execute; it takes no --path). Only the query, path parameters and payload sent,
        and the status, Content-Type and body received are written: never headers, credentials
        or tokens.
  --out FILE        the fixtures file (default fixtures.json; created when missing)
  --query k=v       a query parameter (repeatable); --path k=v a path parameter (repeatable)
  --payload JSON    the JSON body (POST/PUT/PATCH); --payload-file FILE reads it from a file
  --header k=v      a header sent with the call (repeatable; not recorded)
  --user FILE       a stand-in user as JSON: {"id", "email", "first_name", "last_name",
                    "username", "profile_fields"} (user.* in templates; not recorded)
${ADMIN_HELP}check   checks that FILE is a fixtures document the client accepts.
  exit 0  recorded / valid
  exit 1  unknown tenant or connector, unreachable server, or a fixtures file that is not valid
          JSON (FILE:LINE:COL) or not a fixtures document
  exit 2  usage error (also --path for a composite)
`;

interface FixtureCall {
  request?: { queryParams?: Record<string, string>; pathParams?: Record<string, string>; payload?: unknown };
  response: { status: number; contentType?: string; body: unknown };
}

interface FixturesFile {
  gatehouse_fixtures: 1;
  tenant?: string;
  connectors: Record<string, { method: string; calls: FixtureCall[] }>;
  composites?: Record<string, { calls: FixtureCall[] }>;
}

class FixturesFileError extends Error {}

function pairs(list: string[] | undefined, flag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const item of list ?? []) {
    const at = item.indexOf('=');
    if (at <= 0) throw new FixturesFileError(`--${flag} "${item}" must be key=value`);
    out[item.slice(0, at)] = item.slice(at + 1);
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a fixtures file: missing → undefined; not JSON → FILE:LINE:COL; wrong shape → what and where. */
export async function readFixturesFile(file: string): Promise<FixturesFile | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new FixturesFileError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const parsed = parseJsonWithPositions(text);
  if (!parsed.ok) throw new FixturesFileError(`${file}:${parsed.error.line}:${parsed.error.column}: not valid JSON: ${parsed.error.message}`);
  const doc = parsed.value;
  const problem = fixturesProblem(doc);
  if (problem !== undefined) throw new FixturesFileError(`${file}: not a fixtures document: ${problem}`);
  return doc as FixturesFile;
}

/** The same shape rules as the client's mock mode, checked before the file is changed. */
function fixturesProblem(doc: unknown): string | undefined {
  if (!isObject(doc) || doc.gatehouse_fixtures !== 1) return 'expected {"gatehouse_fixtures": 1, "connectors": {…}}';
  for (const group of ['connectors', 'composites'] as const) {
    const entries = doc[group];
    if (entries === undefined) continue;
    if (!isObject(entries)) return `"${group}" must be an object keyed by permalink`;
    for (const [permalink, entry] of Object.entries(entries)) {
      if (!isObject(entry) || !Array.isArray(entry.calls)) return `${group}["${permalink}"] must be {"calls": [...]}`;
      if (group === 'connectors' && typeof entry.method !== 'string') return `${group}["${permalink}"].method must be the connector's HTTP method`;
      for (const [i, call] of entry.calls.entries()) {
        if (!isObject(call) || !isObject(call.response) || typeof call.response.status !== 'number') return `${group}["${permalink}"].calls[${i}] must be {"request", "response": {"status", "body"}}`;
      }
    }
  }
  return undefined;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).filter((k) => value[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value ?? null);
}

const requestKey = (r: FixtureCall['request']) => canonical([r?.queryParams ?? {}, r?.pathParams ?? {}, r?.payload ?? null]);
const isJsonType = (contentType: string | undefined) => contentType !== undefined && /^application\/(.+\+)?json\b/i.test(contentType.trim());

async function record(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' },
      out: { type: 'string', default: 'fixtures.json' },
      query: { type: 'string', multiple: true },
      path: { type: 'string', multiple: true },
      header: { type: 'string', multiple: true },
      payload: { type: 'string' },
      'payload-file': { type: 'string' },
      user: { type: 'string' },
      ...ADMIN_OPTIONS,
    },
    allowPositionals: true,
    strict: true,
  });
  if (values.tenant === undefined || positionals.length !== 1) {
    io.stderr.write('gatehouse fixtures record: --tenant T and one PERMALINK are required\n');
    return 2;
  }
  if (values.payload !== undefined && values['payload-file'] !== undefined) {
    io.stderr.write('gatehouse fixtures record: give --payload or --payload-file, not both\n');
    return 2;
  }
  const permalink = positionals[0]!;
  const tenant = values.tenant;
  const out = values.out ?? 'fixtures.json';

  const readJsonArg = async (text: string, what: string): Promise<unknown> => {
    const parsed = parseJsonWithPositions(text);
    if (!parsed.ok) throw new FixturesFileError(`${what}:${parsed.error.line}:${parsed.error.column}: not valid JSON: ${parsed.error.message}`);
    return parsed.value;
  };
  const readFileArg = async (file: string, flag: string): Promise<string> => {
    try {
      return await readFile(file, 'utf8');
    } catch (err) {
      throw new FixturesFileError(`cannot read --${flag} ${file}: ${(err as Error).message}`);
    }
  };

  try {
    const queryParams = pairs(values.query, 'query');
    const pathParams = pairs(values.path, 'path');
    const headers = pairs(values.header, 'header');
    let payload: unknown;
    if (values.payload !== undefined) payload = await readJsonArg(values.payload, '--payload');
    if (values['payload-file'] !== undefined) payload = await readJsonArg(await readFileArg(values['payload-file'], 'payload-file'), values['payload-file']);
    let user: unknown;
    if (values.user !== undefined) user = await readJsonArg(await readFileArg(values.user, 'user'), values.user);
    // Fail on a broken file before calling anything.
    const existing = await readFixturesFile(out);

    const admin = adminClient(values);
    const found = await admin.call('GET', `/tenants/${encodeURIComponent(tenant)}/connectors/${encodeURIComponent(permalink)}`);
    if (found.status === 404) {
      const code = (found.body as { error?: { code?: string } })?.error?.code;
      io.stderr.write(`gatehouse fixtures record: ${code === 'TENANT_NOT_FOUND' ? `no tenant "${tenant}" on ${admin.server}` : `no connector "${permalink}" on tenant "${tenant}" (list them: GET /admin/v1/tenants/${tenant}/connectors)`}\n`);
      return 1;
    }
    if (found.status !== 200) {
      io.stderr.write(`gatehouse fixtures record: ${adminErrorText(found)}\n`);
      return 1;
    }
    const composite = found.body.kind === 'composite';
    if (composite && Object.keys(pathParams).length > 0) {
      io.stderr.write(`gatehouse fixtures record: "${permalink}" is a composite connector, which takes no path parameters: drop --path (pass values with --query or --payload)\n`);
      return 2;
    }
    // A composite is always called with POST, and its payload is sent whatever that method.
    const method = composite ? 'POST' : (found.body.definition.method as string);
    const request: Record<string, unknown> = { method, queryParams, ...(composite ? {} : { pathParams }), headers };
    if (payload !== undefined) request.payload = payload;
    const answer = await admin.call('POST', `/tenants/${encodeURIComponent(tenant)}/connectors/test`, { permalink, request, ...(user === undefined ? {} : { user }) });
    if (answer.status !== 200) {
      io.stderr.write(`gatehouse fixtures record: ${adminErrorText(answer)}\n`);
      return 1;
    }
    const result = answer.body as { status: number; headers: Record<string, string>; body: string };
    const contentType = Object.entries(result.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1];
    let body: unknown = result.body;
    if (isJsonType(contentType) && result.body !== '') {
      try {
        body = JSON.parse(result.body);
      } catch {
        // labelled JSON but not: kept as text, as the client would return it
      }
    }
    const sent: NonNullable<FixtureCall['request']> = composite
      ? { queryParams, ...(payload === undefined ? {} : { payload }) }
      : { queryParams, pathParams, ...(payload === undefined || !['POST', 'PUT', 'PATCH'].includes(method) ? {} : { payload }) };
    const call: FixtureCall = {
      request: sent,
      response: { status: result.status, ...(contentType === undefined ? {} : { contentType }), body: method === 'HEAD' ? null : body },
    };

    const doc: FixturesFile = existing ?? { gatehouse_fixtures: 1, tenant, connectors: {} };
    let entry: { calls: FixtureCall[] };
    if (composite) {
      entry = (doc.composites ??= {})[permalink] ??= { calls: [] };
    } else {
      const simple = (doc.connectors ??= {})[permalink] ??= { method, calls: [] };
      simple.method = method;
      entry = simple;
    }
    const key = requestKey(call.request);
    const at = entry.calls.findIndex((c) => c.request !== undefined && requestKey(c.request) === key);
    if (at >= 0) entry.calls[at] = call;
    else entry.calls.push(call);
    await writeFile(out, `${JSON.stringify(doc, null, 2)}\n`);
    io.stderr.write(`gatehouse fixtures record: ${composite ? 'composite' : method} ${permalink} → ${result.status}, ${at >= 0 ? 'replaced in' : 'added to'} ${out}\n`);
    return 0;
  } catch (err) {
    if (err instanceof FixturesFileError || err instanceof AdminClientError) {
      io.stderr.write(`gatehouse fixtures record: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function check(argv: string[], io: Io): Promise<number> {
  const { positionals } = parseArgs({ args: argv, allowPositionals: true, strict: true });
  if (positionals.length !== 1) {
    io.stderr.write('gatehouse fixtures check: give one FILE\n');
    return 2;
  }
  const file = positionals[0]!;
  try {
    const doc = await readFixturesFile(file);
    if (doc === undefined) {
      io.stderr.write(`gatehouse fixtures check: ${file}: no such file\n`);
      return 1;
    }
    const count = Object.values(doc.connectors ?? {}).reduce((n, e) => n + e.calls.length, 0) + Object.values(doc.composites ?? {}).reduce((n, e) => n + e.calls.length, 0);
    io.stdout.write(`${file}: ${count} recorded call${count === 1 ? '' : 's'}\n`);
    return 0;
  } catch (err) {
    if (err instanceof FixturesFileError) {
      io.stderr.write(`gatehouse fixtures check: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

async function run(argv: string[], io: Io): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'record') return record(rest, io);
  if (sub === 'check') return check(rest, io);
  io.stderr.write(`gatehouse fixtures: expected "record" or "check"${sub === undefined ? '' : ` (got "${sub}")`}\n\n${HELP}`);
  return 2;
}

export const fixturesCommandModule: CommandModule = { run, help: HELP };
