import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CommandModule, Io } from '../cli.js';
import type { CompositeDefinition, ConnectorDefinition } from '../registry/model.js';
import { decodeUtf8Source } from '../registry/json-source.js';
import { issueLine, urlPolicyFromEnv } from '../registry/validate-command.js';
import { validateRegistryText } from '../registry/validate.js';
import { ADMIN_HELP, ADMIN_OPTIONS, AdminClientError, adminClient, adminErrorText } from './admin-client.js';
import { connectorDeclarations, type Definitions } from './declarations.js';

const HELP = `usage: gatehouse types [FILE] [--out connectors.d.ts] [--connector P]...
       gatehouse types --tenant T [--server URL] [--token-file FILE] [--out connectors.d.ts]

Writes TypeScript declarations of connectors for the widget client, so that
createConnectorsClient<GatehouseConnectors>() checks each execute call: the method, the required
path parameters (those without a default), the query parameters and headers a caller may set.
  FILE             a registry file (default ./connectors_registry.json)
  --tenant T       instead of a file: the connectors of tenant T on a running Gatehouse
  --out FILE       write the declarations there (default: print them)
  --connector P    only these permalinks (repeatable); an unknown one is an error
${ADMIN_HELP}  exit 0  declarations written
  exit 1  the file is invalid or unreadable, the tenant or a --connector is unknown, or the
          server cannot be reached
  exit 2  usage error
`;

async function fromFile(file: string, io: Io): Promise<Definitions | undefined> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file);
  } catch (err) {
    io.stderr.write(`gatehouse types: cannot read ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}\n`);
    return undefined;
  }
  const policy = urlPolicyFromEnv(process.env);
  const decoded = decodeUtf8Source(bytes);
  if (!decoded.ok) {
    io.stderr.write(`${file}:${decoded.error.line}:${decoded.error.column}: ${decoded.error.message}\n`);
    return undefined;
  }
  const result = validateRegistryText(decoded.text, { allowHttp: policy.allowHttp, allowCidrs: policy.allowCidrs });
  if (!result.ok) {
    for (const e of result.errors) io.stderr.write(`${issueLine(file, e)}\n`);
    io.stderr.write(`gatehouse types: ${file} is not a valid registry (fix it first; gatehouse validate shows the same)\n`);
    return undefined;
  }
  return { connectors: result.value.connectors, composites: result.value.composite_connectors };
}

async function fromTenant(tenant: string, values: { server?: string; 'token-file'?: string }, io: Io): Promise<Definitions | undefined> {
  const admin = adminClient(values);
  const list = await admin.call('GET', `/tenants/${encodeURIComponent(tenant)}/connectors`);
  if (list.status !== 200) {
    io.stderr.write(`gatehouse types: ${adminErrorText(list)}\n`);
    return undefined;
  }
  const defs: Definitions = { connectors: [], composites: [] };
  for (const item of list.body.items as { permalink: string; kind: string }[]) {
    const one = await admin.call('GET', `/tenants/${encodeURIComponent(tenant)}/connectors/${encodeURIComponent(item.permalink)}`);
    // Removed between the two reads: it is simply not part of the declarations.
    if (one.status === 404) continue;
    if (one.status !== 200) {
      io.stderr.write(`gatehouse types: ${adminErrorText(one)}\n`);
      return undefined;
    }
    if (item.kind === 'composite') defs.composites.push(one.body.definition as CompositeDefinition);
    else defs.connectors.push(one.body.definition as ConnectorDefinition);
  }
  return defs;
}

/** Keeps only the asked permalinks; an unknown one is named (with what exists) and fails. */
export function selectConnectors(defs: Definitions, wanted: string[] | undefined, where: string): { ok: true; defs: Definitions } | { ok: false; message: string } {
  if (wanted === undefined || wanted.length === 0) return { ok: true, defs };
  const known = [...defs.connectors, ...defs.composites].map((c) => c.permalink);
  const unknown = wanted.filter((p) => !known.includes(p));
  if (unknown.length > 0) {
    const list = known.length === 0 ? 'it has none' : `it has: ${known.sort().join(', ')}`;
    return { ok: false, message: `${unknown.map((p) => `"${p}"`).join(', ')}: no such connector in ${where} (${list})` };
  }
  return { ok: true, defs: { connectors: defs.connectors.filter((c) => wanted.includes(c.permalink)), composites: defs.composites.filter((c) => wanted.includes(c.permalink)) } };
}

async function run(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { out: { type: 'string' }, tenant: { type: 'string' }, connector: { type: 'string', multiple: true }, ...ADMIN_OPTIONS },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1 || (positionals.length === 1 && values.tenant !== undefined)) {
    io.stderr.write('gatehouse types: give one registry FILE or --tenant T, not both\n');
    return 2;
  }
  let defs: Definitions | undefined;
  let where: string;
  try {
    if (values.tenant !== undefined) {
      where = `tenant "${values.tenant}"`;
      defs = await fromTenant(values.tenant, values, io);
    } else {
      where = positionals[0] ?? 'connectors_registry.json';
      defs = await fromFile(where, io);
    }
  } catch (err) {
    if (err instanceof AdminClientError) {
      io.stderr.write(`gatehouse types: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  if (defs === undefined) return 1;
  const selected = selectConnectors(defs, values.connector, where);
  if (!selected.ok) {
    io.stderr.write(`gatehouse types: ${selected.message}\n`);
    return 1;
  }
  const text = connectorDeclarations(selected.defs, where);
  if (values.out === undefined) {
    io.stdout.write(text);
    return 0;
  }
  try {
    await writeFile(values.out, text);
  } catch (err) {
    io.stderr.write(`gatehouse types: cannot write ${values.out}: ${(err as Error).message}\n`);
    return 1;
  }
  const count = selected.defs.connectors.length + selected.defs.composites.length;
  io.stderr.write(`gatehouse types: ${count} connector${count === 1 ? '' : 's'} from ${where} → ${values.out}\n`);
  return 0;
}

export const typesCommandModule: CommandModule = { run, help: HELP };
