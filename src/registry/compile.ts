import { compileTemplate as compileChecked, TemplateError, type CompiledTemplate, type TemplateField } from '../templates/index.js';
import type {
  Authentication,
  CompositeDefinition,
  CompositeStep,
  ConnectorDefinition,
  HttpMethod,
  JwtAlgorithm,
  Param,
  StoredConnector,
} from './model.js';

/**
 * Turns a stored definition into what the request path runs: every template compiled once, lookups
 * prepared (header keys lower-cased, path-parameter tables), and the facts the pipeline decides on
 * before any rendering — does it need a user (docs/design.md#anonymous-callers), which secrets/variables to fetch.
 */

export interface CompiledParam {
  key: string;
  /** Lower-case key (headers compare case-insensitively, docs/design.md#merge-rules). */
  lower: string;
  template: CompiledTemplate;
  overridable: boolean;
  /** The value reads a secret: Test Connection shows the template text instead (docs/runtime.md#test-connection). */
  usesSecret: boolean;
}

export type ClaimValue = { template: CompiledTemplate } | { literal: unknown };

export type CompiledAuth =
  | { type: 'none' }
  | { type: 'api_key'; key: string; value: CompiledTemplate; in: 'header' | 'query' }
  | { type: 'oauth_client_credentials'; client_id: CompiledTemplate; client_secret: CompiledTemplate; token_url: CompiledTemplate; scope: CompiledTemplate | undefined }
  | { type: 'jwt'; private_key: CompiledTemplate; algorithm: JwtAlgorithm; claims: [string, ClaimValue][]; jwt_headers: Record<string, unknown> | undefined }
  | {
      type: 'oauth_jwt_bearer';
      client_id: CompiledTemplate;
      private_key: CompiledTemplate;
      token_url: CompiledTemplate;
      subject: CompiledTemplate;
      audience: CompiledTemplate;
      token_ttl: number;
      algorithm: JwtAlgorithm;
      additional_claims: [string, ClaimValue][];
      jwt_headers: Record<string, unknown> | undefined;
    };

/** What one outbound request is made of: a simple connector, or one composite step. */
export interface CompiledRequest {
  method: HttpMethod;
  url: CompiledTemplate;
  headers: CompiledParam[];
  query: CompiledParam[];
  /** Declared query parameters by key (a caller's undeclared ones are forwarded). */
  queryIndex: ReadonlyMap<string, CompiledParam>;
  auth: CompiledAuth;
  /** The raw authentication definition, for Test Connection's masked debug output. */
  authDefinition: Authentication;
  requestBody: CompiledTemplate | undefined;
  responseBody: CompiledTemplate | undefined;
  /** Override of the Content-Type returned to the caller; undefined = upstream's. */
  responseContentType: string | undefined;
  /** A configured `Content-Type` header (docs/design.md#request-bodies: then a request template's output keeps it). */
  hasContentTypeHeader: boolean;
  secretNames: string[];
  variableNames: string[];
  /** The URL or a query value reads a secret: the resolved URL is never remembered (see below). */
  urlUsesSecret: boolean;
  /**
   * The last upstream URL this request resolved to (stage `render`), by its text. Requests of one
   * connector mostly resolve to the same URL; parsing it each time is a noticeable share of a cache
   * hit. `client` is the upstream client that accepted it (its scheme rule). Never set when the URL
   * or a query value reads a secret.
   */
  lastUrl: { text: string; url: URL; client: object } | undefined;
}

export interface PathParamRow {
  key: string;
  value: string | undefined;
  /** False with a value: pinned (docs/design.md#path-parameters). */
  overridable: boolean;
}

export interface CompiledSimple extends CompiledRequest {
  kind: 'connector';
  tenant: string;
  permalink: string;
  revision: string;
  /** url/headers/query/auth read `user.*`: anonymous callers get 401 before any upstream traffic. */
  needsUser: boolean;
  /** Keys the URL references as `pathParams.X`, in order of first use. */
  pathParamsReferenced: string[];
  pathParamRows: ReadonlyMap<string, PathParamRow>;
  /** Referenced but not declared: CONNECTOR_MISCONFIGURED at run time (the validator rejects it at save). */
  pathParamsUndeclared: string[];
}

export interface CompiledStep extends CompiledRequest {
  name: string;
  index: number;
}

export interface CompiledComposite {
  kind: 'composite';
  tenant: string;
  permalink: string;
  revision: string;
  needsUser: boolean;
  steps: CompiledStep[];
  secretNames: string[];
  variableNames: string[];
}

export type CompiledConnector = CompiledSimple | CompiledComposite;

/**
 * A template that does not compile (a definition stored before a rule existed, or written past the
 * validator) must not make the whole connector unloadable: it compiles to a template whose render
 * fails with the compile error, so the caller gets 422 TEMPLATE_ERROR naming it.
 */
function compileTemplate(source: string, field: TemplateField): CompiledTemplate {
  try {
    return compileChecked(source, field);
  } catch (err) {
    if (!(err instanceof TemplateError)) throw err;
    const fail = (): never => {
      throw err;
    };
    return {
      source,
      field,
      isLiteral: false,
      referencesUser: false,
      secretNames: [],
      variableNames: [],
      pathParamNames: [],
      freeNames: [],
      usesAsync: false,
      autoescape: false,
      render: fail,
      renderAsync: async () => fail(),
    };
  }
}

type Fields = {
  url: TemplateField;
  header: TemplateField;
  query: TemplateField;
  auth: TemplateField;
  request_body: TemplateField;
  response_body: TemplateField;
};

const SIMPLE_FIELDS: Fields = { url: 'url', header: 'header', query: 'query', auth: 'auth', request_body: 'request_body', response_body: 'response_body' };
const COMPOSITE_FIELDS: Fields = {
  url: 'composite_url',
  header: 'composite_header',
  query: 'composite_query',
  auth: 'composite_auth',
  request_body: 'composite_request_body',
  response_body: 'composite_response_body',
};

class Collector {
  readonly secrets = new Set<string>();
  readonly variables = new Set<string>();
  user = false;

  add(t: CompiledTemplate, countsForUser: boolean): CompiledTemplate {
    for (const s of t.secretNames) this.secrets.add(s);
    for (const v of t.variableNames) this.variables.add(v);
    if (countsForUser && t.referencesUser) this.user = true;
    return t;
  }
}

function compileParams(params: Param[], field: TemplateField, c: Collector): CompiledParam[] {
  return params.map((p) => {
    const template = c.add(compileTemplate(p.value, field), true);
    return { key: p.key, lower: p.key.toLowerCase(), template, overridable: p.overridable === true, usesSecret: template.secretNames.length > 0 };
  });
}

function compileClaims(claims: Record<string, unknown> | undefined, field: TemplateField, c: Collector): [string, ClaimValue][] {
  return Object.entries(claims ?? {}).map(([k, v]) => [k, typeof v === 'string' ? { template: c.add(compileTemplate(v, field), true) } : { literal: v }]);
}

function compileAuth(auth: Authentication, field: TemplateField, c: Collector): CompiledAuth {
  const t = (s: string) => c.add(compileTemplate(s, field), true);
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'api_key':
      return { type: 'api_key', key: auth.config.key, value: t(auth.config.value), in: auth.config.in };
    case 'oauth_client_credentials':
      return {
        type: 'oauth_client_credentials',
        client_id: t(auth.config.client_id),
        client_secret: t(auth.config.client_secret),
        token_url: t(auth.config.token_url),
        scope: auth.config.scope === undefined || auth.config.scope === '' ? undefined : t(auth.config.scope),
      };
    case 'jwt':
      return {
        type: 'jwt',
        private_key: t(auth.config.private_key),
        algorithm: auth.config.algorithm ?? 'RS256',
        claims: compileClaims(auth.config.claims, field, c),
        jwt_headers: auth.config.jwt_headers,
      };
    case 'oauth_jwt_bearer':
      return {
        type: 'oauth_jwt_bearer',
        client_id: t(auth.config.client_id),
        private_key: t(auth.config.private_key),
        token_url: t(auth.config.token_url),
        subject: t(auth.config.subject),
        audience: t(auth.config.audience),
        token_ttl: auth.config.token_ttl ?? 3600,
        algorithm: auth.config.algorithm ?? 'RS256',
        additional_claims: compileClaims(auth.config.additional_claims, field, c),
        jwt_headers: auth.config.jwt_headers,
      };
  }
}

function compileRequest(def: ConnectorDefinition | CompositeStep, fields: Fields, c: Collector): CompiledRequest {
  const url = c.add(compileTemplate(def.url, fields.url), true);
  const headers = compileParams(def.headers ?? [], fields.header, c);
  const query = compileParams(def.query_parameters ?? [], fields.query, c);
  const authDefinition = def.authentication ?? { type: 'none' };
  const auth = compileAuth(authDefinition, fields.auth, c);
  // docs/design.md#anonymous-callers names url, headers, query and auth; body templates reading user.* render None.
  const requestBody = def.request_body ? c.add(compileTemplate(def.request_body, fields.request_body), false) : undefined;
  const responseBody = def.response_body ? c.add(compileTemplate(def.response_body, fields.response_body), false) : undefined;
  return {
    method: def.method ?? 'GET',
    url,
    headers,
    query,
    queryIndex: query.length === 0 ? NO_ROWS : new Map(query.map((q) => [q.key, q])),
    auth,
    authDefinition,
    requestBody,
    responseBody,
    responseContentType: def.response_content_type ? def.response_content_type : undefined,
    hasContentTypeHeader: headers.some((h) => h.lower === 'content-type'),
    secretNames: NO_NAMES,
    variableNames: NO_NAMES,
    urlUsesSecret: url.secretNames.length > 0 || query.some((q) => q.usesSecret),
    lastUrl: undefined,
  };
}

const PATH_PARAM_REF = /\bpathParams\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_]*)|\[\s*(?:'([^']*)'|"([^"]*)")\s*\])/g;

/** Keys a URL template reads from `pathParams` (`pathParams.x` or `pathParams['x']`). */
export function referencedPathParams(urlSource: string): string[] {
  const out: string[] = [];
  for (const m of urlSource.matchAll(PATH_PARAM_REF)) {
    const key = m[1] ?? m[2] ?? m[3] ?? '';
    if (key !== '' && !out.includes(key)) out.push(key);
  }
  return out;
}

export function compileConnector(stored: StoredConnector): CompiledConnector {
  if (stored.kind === 'composite') return compileComposite(stored, stored.definition as CompositeDefinition);
  const def = stored.definition as ConnectorDefinition;
  const c = new Collector();
  const req = compileRequest(def, SIMPLE_FIELDS, c);
  const declared = def.path_parameters ?? [];
  const rows: ReadonlyMap<string, PathParamRow> =
    declared.length === 0 ? NO_ROWS : new Map(declared.map((p) => [p.key, { key: p.key, value: p.value, overridable: p.overridable !== false }]));
  // The template's own analysis; the regex covers a URL whose template failed to compile.
  const referenced = req.url.pathParamNames.length > 0 ? [...req.url.pathParamNames] : referencedPathParams(def.url);
  // Added to the request object rather than spread into a new one: a spread copy of an object this
  // size gets a hidden class of its own in V8 (about 0.7 KB per compiled connector).
  const simple: Omit<CompiledSimple, keyof CompiledRequest> & Pick<CompiledRequest, 'secretNames' | 'variableNames'> = {
    kind: 'connector',
    tenant: stored.tenant,
    permalink: def.permalink,
    revision: stored.revision,
    needsUser: c.user,
    secretNames: namesOf(c.secrets),
    variableNames: namesOf(c.variables),
    pathParamsReferenced: referenced,
    pathParamRows: rows,
    pathParamsUndeclared: referenced.filter((k) => !rows.has(k)),
  };
  return Object.assign(req, simple);
}

function compileComposite(stored: StoredConnector, def: CompositeDefinition): CompiledComposite {
  const all = new Collector();
  const steps = def.steps.map((step, index) => {
    const c = new Collector();
    const req = compileRequest(step, COMPOSITE_FIELDS, c);
    for (const s of c.secrets) all.secrets.add(s);
    for (const v of c.variables) all.variables.add(v);
    if (c.user) all.user = true;
    return Object.assign(req, { name: step.name, index, secretNames: namesOf(c.secrets), variableNames: namesOf(c.variables) });
  });
  return {
    kind: 'composite',
    tenant: stored.tenant,
    permalink: def.permalink,
    revision: stored.revision,
    needsUser: all.user,
    steps,
    secretNames: namesOf(all.secrets),
    variableNames: namesOf(all.variables),
  };
}

const NO_NAMES: string[] = Object.freeze([]) as unknown as string[];

/** Most connectors declare no path parameter, some no query parameter: they share one empty table (a Map is ~200 B even empty). */
const NO_ROWS: ReadonlyMap<string, never> = new Map<string, never>();

/** Most connectors name no secret or variable: they share one empty list. */
function namesOf(names: Set<string>): string[] {
  return names.size === 0 ? NO_NAMES : [...names];
}
