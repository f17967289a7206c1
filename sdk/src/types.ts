/** HTTP methods a connector can have; `execute` must use the connector's own. */
export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD' | 'OPTIONS';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** Methods whose `payload` is sent as the JSON body; for the others it is not sent. */
export type BodyMethod = 'POST' | 'PUT' | 'PATCH';

/**
 * One connector as `gatehouse types` describes it: its method, its path parameters (required
 * when they have no default), the query parameters and headers a caller may set.
 */
export interface ConnectorShape {
  method: HttpMethod;
  pathParams: { [key: string]: string | number };
  queryParams: { [key: string]: string | undefined };
  headers: { [key: string]: string };
}

export interface CompositeShape {
  queryParams: { [key: string]: string | undefined };
}

/** The permalinks of a tenant: what `createConnectorsClient<Schema>()` checks calls against. */
export interface ConnectorsSchema {
  connectors: { [permalink: string]: ConnectorShape };
  composites: { [permalink: string]: CompositeShape };
}

/** Without generated types: any permalink, any method, string maps. */
export interface UntypedSchema extends ConnectorsSchema {
  connectors: { [permalink: string]: ConnectorShape };
  composites: { [permalink: string]: CompositeShape };
}

type PathParamsOption<C extends ConnectorShape> = {} extends C['pathParams']
  ? { pathParams?: C['pathParams'] }
  : { pathParams: C['pathParams'] };

type PayloadOption<C extends ConnectorShape> = [Extract<C['method'], BodyMethod>] extends [never]
  ? { payload?: undefined }
  : { payload?: Record<string, unknown> | unknown[] };

export type ExecuteOptions<P extends string = string, C extends ConnectorShape = ConnectorShape> = {
  permalink: P;
  method: C['method'];
  queryParams?: C['queryParams'];
  headers?: Partial<C['headers']>;
} & PathParamsOption<C> &
  PayloadOption<C>;

export interface CompositeExecuteOptions<P extends string = string, C extends CompositeShape = CompositeShape> {
  permalink: P;
  payload?: Record<string, unknown> | unknown[];
  queryParams?: C['queryParams'];
  /** Composites take no path parameters: any value is refused before a request is made. */
  pathParams?: undefined;
}

export interface ClientSettings {
  /** Headers added to every request (per-call `headers` win). */
  headers?: Record<string, string>;
  /** Milliseconds before a call is aborted with `TIMEOUT` (default 30000). */
  timeout?: number;
}

/** Asked for the bearer token before each call; `{ renew: true }` after a 401 `INVALID_SESSION`. */
export type SessionTokenSource = (request: { renew: boolean }) => string | null | undefined | Promise<string | null | undefined>;
