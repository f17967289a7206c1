import { ConnectorBoundaryError, ConnectorExecuteError, ConnectorNetworkError } from './errors.js';
import { checkFixtures, findCall, type FixtureCall, type FixtureRequest, type FixturesDocument } from './fixtures.js';
import type { ClientSettings, CompositeExecuteOptions, ConnectorsSchema, ExecuteOptions, SessionTokenSource, UntypedSchema } from './types.js';

export interface ClientOptions extends ClientSettings {
  /** Where Gatehouse answers, e.g. `https://gatehouse.example.com`; '' = the page's own origin. */
  baseUrl?: string;
  /** The tenant id: calls go to `{baseUrl}/t/{tenant}/…`. */
  tenant: string;
  /** Supplies the session JWT sent as `Authorization: Bearer …`; none = anonymous calls. */
  getSessionToken?: SessionTokenSource;
  /** Mock mode: answer from recorded fixtures, with no network at all. */
  fixtures?: FixturesDocument;
}

export interface ConnectorsClient<S extends ConnectorsSchema = UntypedSchema> {
  // The answer is whatever the connector returns (its response template decides), hence `any`.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  execute<P extends keyof S['connectors'] & string>(options: ExecuteOptions<P, S['connectors'][P]>): Promise<any>;
  composite: {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    execute<P extends keyof S['composites'] & string>(options: CompositeExecuteOptions<P, S['composites'][P]>): Promise<any>;
  };
  /** Global to the client (every widget sharing it): default headers and timeout. */
  configure(settings: ClientSettings): void;
  /** Adds to (or changes) the default headers. */
  updateHeaders(headers: Record<string, string>): void;
  setDefaultTimeout(ms: number): void;
  getHeaders(): Record<string, string>;
  getDefaultTimeout(): number;
  getBaseUrl(): string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
/** Longest path parameter value the client sends (the header would grow past what servers take). */
export const MAX_PATH_PARAM_LENGTH = 4096;
const BODY_METHODS = ['POST', 'PUT', 'PATCH'];

interface Call {
  kind: 'connectors' | 'composites';
  permalink: string;
  method: string;
  queryParams: Record<string, string>;
  pathParams: Record<string, string>;
  payload: unknown;
  headers: Record<string, string>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v);

function boundary(reason: string, message: string): never {
  throw new ConnectorBoundaryError(reason, message);
}

function stringMap(value: unknown, name: string): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isObject(value)) boundary('INVALID_OPTION', `${name} must be an object of strings (got ${typeOf(value)})`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined && v !== null) out[k] = String(v);
  return out;
}

/** The checks the server would make on `X-Path-Params`, made before any network I/O. */
function checkPathParams(value: unknown, composite: boolean): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (composite) boundary('COMPOSITE_PATH_PARAMS', 'composite connectors take no pathParams: pass values in payload or queryParams');
  if (!isObject(value)) boundary('PATH_PARAMS_NOT_OBJECT', `pathParams must be an object (got ${typeOf(value)})`);
  const out: Record<string, string> = {};
  for (const [key, v] of Object.entries(value)) {
    if (key.trim() === '') boundary('EMPTY_PATH_PARAM_KEY', 'pathParams has an empty key');
    if (typeof v !== 'string' && !(typeof v === 'number' && Number.isFinite(v))) {
      boundary('INVALID_PATH_PARAM_TYPE', `pathParams.${key} must be a string or a finite number (got ${typeOf(v)})`);
    }
    const text = String(v);
    if (text.length > MAX_PATH_PARAM_LENGTH) {
      boundary('PATH_PARAM_TOO_LONG', `pathParams.${key} is ${text.length} characters; at most ${MAX_PATH_PARAM_LENGTH} are allowed`);
    }
    out[key] = text;
  }
  return out;
}

function checkTimeout(ms: unknown): number {
  if (typeof ms !== 'number' || !Number.isFinite(ms) || ms <= 0) boundary('INVALID_TIMEOUT', `timeout must be a positive number of milliseconds (got ${String(ms)})`);
  return ms;
}

const isJson = (contentType: string | undefined) => contentType !== undefined && /^application\/(.+\+)?json\b/i.test(contentType.trim());

/** Gatehouse's envelope, the legacy shape, or an upstream's own error answer, as one error. */
function executeError(status: number, body: unknown, requestId: string | undefined): ConnectorExecuteError {
  if (isObject(body) && isObject(body.errors) && typeof body.errors.code === 'string') {
    const e = body.errors;
    return new ConnectorExecuteError({
      status,
      code: e.code as string,
      detail: typeof e.detail === 'string' ? e.detail : '',
      scope: typeof e.scope === 'string' ? e.scope : undefined,
      params: Array.isArray(e.params) ? (e.params as string[]) : undefined,
      requestId: typeof body.request_id === 'string' ? body.request_id : requestId,
      body,
    });
  }
  if (isObject(body) && typeof body.failure_scope === 'string') {
    const reason = typeof body.reason === 'string' ? body.reason : '';
    return new ConnectorExecuteError({ status, code: 'UPSTREAM_ERROR', detail: reason, failureScope: body.failure_scope, reason, requestId: typeof body.request_id === 'string' ? body.request_id : requestId, body });
  }
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return new ConnectorExecuteError({ status, code: 'UPSTREAM_ERROR', detail: `the upstream answered ${status}${text ? `: ${text.slice(0, 200)}` : ''}`, requestId, body });
}

function replay(fixtures: FixturesDocument, call: Call): unknown {
  const request: FixtureRequest = { queryParams: call.queryParams, pathParams: call.pathParams, payload: call.payload ?? null };
  const entry = fixtures[call.kind]?.[call.permalink] as { method?: string; calls: FixtureCall[] } | undefined;
  if (entry === undefined) {
    throw new ConnectorExecuteError({ status: 404, code: 'CONNECTOR_NOT_FOUND', detail: `the fixtures have no ${call.kind === 'composites' ? 'composite ' : ''}connector "${call.permalink}" (record one with gatehouse fixtures record)` });
  }
  if (entry.method !== undefined && entry.method !== call.method) {
    throw new ConnectorExecuteError({ status: 405, code: 'METHOD_NOT_ALLOWED', detail: `connector "${call.permalink}" takes ${entry.method}, not ${call.method}` });
  }
  const recorded = findCall(entry.calls, request);
  if (recorded === undefined) {
    throw new ConnectorExecuteError({ status: 404, code: 'FIXTURE_NOT_FOUND', detail: `no fixture of "${call.permalink}" matches ${JSON.stringify(request)}; recorded: ${entry.calls.map((c) => JSON.stringify(c.request)).join(', ')}` });
  }
  const { status, body } = recorded.response;
  if (status >= 400) throw executeError(status, body, undefined);
  return call.method === 'HEAD' ? null : body ?? null;
}

/**
 * A connectors client. One client is meant to be shared by the widgets of a page: `configure`,
 * `updateHeaders` and `setDefaultTimeout` change it for all of them; per-call options affect one call.
 */
export function createConnectorsClient<S extends ConnectorsSchema = UntypedSchema>(options: ClientOptions): ConnectorsClient<S> {
  if (!isObject(options) || typeof options.tenant !== 'string' || options.tenant === '') {
    boundary('INVALID_OPTION', 'createConnectorsClient needs { tenant: "<tenant id>" } (and baseUrl when Gatehouse is on another origin)');
  }
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const tenant = options.tenant;
  const getSessionToken = options.getSessionToken;
  const fixtures = options.fixtures === undefined ? undefined : checkFixtures(options.fixtures);
  let headers: Record<string, string> = stringMap(options.headers, 'headers');
  let timeout = options.timeout === undefined ? DEFAULT_TIMEOUT_MS : checkTimeout(options.timeout);

  async function send(call: Call, renew: boolean): Promise<unknown> {
    const base = `${baseUrl}/t/${encodeURIComponent(tenant)}/${call.kind === 'connectors' ? 'connectors' : 'composite-connectors'}/${encodeURIComponent(call.permalink)}/execute`;
    const query = new URLSearchParams(call.queryParams).toString();
    const sent: Record<string, string> = { ...headers, ...call.headers };
    const token = getSessionToken === undefined ? undefined : await getSessionToken({ renew });
    if (token) sent.Authorization = `Bearer ${token}`;
    const pathParams = new URLSearchParams(call.pathParams).toString();
    if (pathParams !== '') sent['X-Path-Params'] = pathParams;
    let body: string | undefined;
    if (BODY_METHODS.includes(call.method) && call.payload !== undefined) {
      body = JSON.stringify(call.payload);
      sent['Content-Type'] = 'application/json';
    }

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeout);
    let response: Response;
    let text: string;
    try {
      // No cookies: the session travels as a bearer token, so no CSRF token is needed either.
      response = await fetch(query === '' ? base : `${base}?${query}`, { method: call.method, headers: sent, body, signal: controller.signal, credentials: 'omit' });
      text = call.method === 'HEAD' ? '' : await response.text();
    } catch (err) {
      if (controller.signal.aborted) throw new ConnectorNetworkError('TIMEOUT', `${call.permalink}: no answer within ${timeout} ms`);
      throw new ConnectorNetworkError('NETWORK_ERROR', `${call.permalink}: the request to ${baseUrl || 'Gatehouse'} failed (network error or CORS refusal: is this page's origin in the tenant's allowed_origins?): ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }

    const contentType = response.headers.get('content-type') ?? undefined;
    let parsed: unknown = text;
    if (isJson(contentType) && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // A body labelled JSON that is not: hand over the text rather than failing the call.
      }
    }
    if (response.status >= 400) {
      const error = executeError(response.status, parsed, response.headers.get('x-request-id') ?? undefined);
      if (error.code === 'INVALID_SESSION' && getSessionToken !== undefined && !renew) return send(call, true);
      throw error;
    }
    if (call.method === 'HEAD' || text === '') return null;
    return parsed;
  }

  async function run(call: Call): Promise<unknown> {
    if (fixtures !== undefined) {
      // Still asynchronous, like a real call, so widget code behaves the same in mock mode.
      await Promise.resolve();
      return replay(fixtures, call);
    }
    return send(call, false);
  }

  function prepare(raw: unknown, kind: Call['kind']): Call {
    if (!isObject(raw)) boundary('INVALID_OPTION', `execute needs an options object (got ${typeOf(raw)})`);
    const { permalink } = raw;
    if (typeof permalink !== 'string' || permalink === '') boundary('INVALID_PERMALINK', 'permalink must be a non-empty string');
    const method = kind === 'composites' ? 'POST' : typeof raw.method === 'string' ? raw.method.toUpperCase() : boundary('INVALID_METHOD', `${permalink}: method is required and must equal the connector's method (e.g. "GET")`);
    return {
      kind,
      permalink,
      method,
      pathParams: checkPathParams(raw.pathParams, kind === 'composites'),
      queryParams: stringMap(raw.queryParams, 'queryParams'),
      headers: stringMap(raw.headers, 'headers'),
      payload: BODY_METHODS.includes(method) ? raw.payload : undefined,
    };
  }

  // Options are validated synchronously but reported through the promise, like every other failure.
  const start = (raw: unknown, kind: Call['kind']) => new Promise<unknown>((resolve) => resolve(prepare(raw, kind))).then((call) => run(call as Call));

  return {
    execute: (opts) => start(opts, 'connectors'),
    composite: { execute: (opts) => start(opts, 'composites') },
    configure(settings) {
      if (!isObject(settings)) return;
      if (settings.headers !== undefined) headers = stringMap(settings.headers, 'headers');
      if (settings.timeout !== undefined) timeout = checkTimeout(settings.timeout);
    },
    updateHeaders(more) {
      headers = { ...headers, ...stringMap(more, 'headers') };
    },
    setDefaultTimeout(ms) {
      timeout = checkTimeout(ms);
    },
    getHeaders: () => ({ ...headers }),
    getDefaultTimeout: () => timeout,
    getBaseUrl: () => baseUrl,
  };
}
