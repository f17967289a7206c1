import type { CompiledComposite, CompiledSimple } from '../registry/compile.js';
import { runComposite } from './composite.js';
import type { CallerRequest, DebugRecord, ExecContext, RuntimeDeps, RuntimeTenant, TestOptions } from './context.js';
import { errorEnvelope, RuntimeError } from './errors.js';
import { runConnector, toRuntimeError } from './pipeline.js';
import { emptyDebugRecord } from './stages/render.js';
import { asciiJson, Timing } from './timing.js';

export interface ExecuteInput {
  deps: RuntimeDeps;
  requestId: string;
  tenantId: string;
  tenant: RuntimeTenant | undefined;
  permalink: string;
  kind: 'connector' | 'composite';
  caller: CallerRequest;
  test?: TestOptions;
  /** Test Connection of an unsaved connector: compiled from the request body. */
  compiled?: CompiledSimple;
  timing?: Timing;
}

export interface ExecuteOutput {
  status: number;
  /** Response headers incl. X-Cache, Server-Timing, X-Connector-Timing (not CORS / request id). */
  headers: Record<string, string>;
  body: Buffer | string;
  /** Set when the answer is an error envelope. */
  error: RuntimeError | undefined;
  /** Test Connection's X-Debug-Request value (ASCII JSON), secret values scrubbed as a last defence. */
  debugJson: string | undefined;
  timingJson: string;
}

/** Most connectors use no secret or variable: their requests share these (never written to). */
const NO_VALUES: ReadonlyMap<string, string> = new Map();

function newContext(input: ExecuteInput): ExecContext {
  return {
    deps: input.deps,
    requestId: input.requestId,
    tenantId: input.tenantId,
    permalink: input.permalink,
    caller: input.caller,
    test: input.test,
    timing: input.timing ?? new Timing(),
    now: Math.floor(Date.now() / 1000),
    tenant: input.tenant,
    stored: undefined,
    compiled: input.compiled,
    user: undefined,
    secrets: NO_VALUES,
    variables: NO_VALUES,
    pathParams: {},
    ignored: [],
    out: undefined,
    upstream: undefined,
    xCache: 'BYPASS',
    result: undefined,
  };
}

/** Runs one execution and shapes the answer; never throws. */
export async function execute(input: ExecuteInput): Promise<ExecuteOutput> {
  const ctx = newContext(input);
  let status: number;
  let headers: Record<string, string>;
  let body: Buffer | string;
  let error: RuntimeError | undefined;
  try {
    if (input.tenant === undefined) throw new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no connector "${input.permalink}" in this tenant`);
    let result;
    if (input.kind === 'composite') {
      const entry = await input.deps.connectors.get(input.tenantId, input.permalink);
      if (entry === undefined || entry.compiled.kind !== 'composite') {
        throw new RuntimeError(404, 'CONNECTOR_NOT_FOUND', `no composite connector "${input.permalink}" in this tenant`);
      }
      ctx.stored = entry.stored;
      result = await runComposite(ctx, entry.compiled as CompiledComposite);
    } else {
      result = await runConnector(ctx);
    }
    status = result.status;
    headers = result.headers;
    body = result.body;
  } catch (err) {
    error = toRuntimeError(ctx, err);
    status = error.status;
    headers = { 'content-type': 'application/json; charset=utf-8', ...(error.headers ?? {}) };
    body = JSON.stringify(errorEnvelope(error, input.requestId));
  }
  const t = ctx.timing.headers(input.requestId, ctx.xCache);
  headers['x-cache'] = ctx.xCache;
  headers['server-timing'] = t.serverTiming;
  headers['x-connector-timing'] = t.connectorTiming;
  let debugJson: string | undefined;
  if (input.test !== undefined) {
    const debug = ctx.out?.debug ?? (ctx.compiled === undefined ? undefined : emptyDebugRecord(ctx, ctx.compiled));
    if (debug !== undefined) {
      let text = JSON.stringify(debug);
      for (const v of ctx.secrets.values()) {
        const escaped = JSON.stringify(v).slice(1, -1);
        if (escaped.length >= 3) text = text.split(escaped).join('**********');
      }
      debugJson = asciiJson(JSON.parse(text));
    }
  }
  return { status, headers, body, error, debugJson, timingJson: t.connectorTiming };
}

