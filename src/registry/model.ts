/**
 * The connector model shared by the validator, the store, the sync and the runtime.
 * These are the *normalised* shapes: a definition that passed validation has every default applied
 * (method GET, empty lists, empty strings, `apikey` → `api_key`, JWT algorithm RS256, token_ttl 3600),
 * and unknown keys dropped. Field names follow the registry file (schemas/connectors_registry.schema.json) so a definition can be
 * written back as Code Mode JSON unchanged.
 */

export const HTTP_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'] as const;
export type HttpMethod = (typeof HTTP_METHODS)[number];

export const JWT_ALGORITHMS = [
  'HS256', 'HS384', 'HS512',
  'RS256', 'RS384', 'RS512',
  'ES256', 'ES384', 'ES512',
  'PS256', 'PS384', 'PS512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

export interface Param {
  key: string;
  /** Template (rendered without HTML escaping, docs/design.md#autoescape-and-unknown-names). */
  value: string;
  overridable: boolean;
}

export interface PathParam {
  key: string;
  /** Default when the caller omits it (docs/design.md#path-parameters); absent = the caller must supply it. */
  value?: string;
  /** `false` with a `value` pins the value; a caller value is then ignored. Defaults to true. */
  overridable?: boolean;
}

export interface ApiKeyConfig {
  key: string;
  value: string;
  in: 'header' | 'query';
}

export interface OAuthClientCredentialsConfig {
  client_id: string;
  client_secret: string;
  token_url: string;
  scope?: string;
}

export interface JwtConfig {
  private_key: string;
  algorithm: JwtAlgorithm;
  /** Claim values that are strings are templates; other JSON values pass through. */
  claims: Record<string, unknown>;
  jwt_headers?: Record<string, unknown>;
}

export interface OAuthJwtBearerConfig {
  client_id: string;
  private_key: string;
  token_url: string;
  subject: string;
  audience: string;
  token_ttl: number;
  algorithm: JwtAlgorithm;
  additional_claims?: Record<string, unknown>;
  jwt_headers?: Record<string, unknown>;
}

export type Authentication =
  | { type: 'none' }
  | { type: 'api_key'; config: ApiKeyConfig }
  | { type: 'oauth_client_credentials'; config: OAuthClientCredentialsConfig }
  | { type: 'jwt'; config: JwtConfig }
  | { type: 'oauth_jwt_bearer'; config: OAuthJwtBearerConfig };

export type AuthenticationType = Authentication['type'];

export interface ConnectorDefinition {
  name: string;
  permalink: string;
  url: string;
  method: HttpMethod;
  headers: Param[];
  query_parameters: Param[];
  path_parameters: PathParam[];
  authentication: Authentication;
  request_body: string;
  response_body: string;
  response_content_type: string;
}

export interface CompositeStep {
  name: string;
  url: string;
  method: HttpMethod;
  headers: Param[];
  query_parameters: Param[];
  authentication: Authentication;
  request_body: string;
  response_body: string;
  response_content_type: string;
}

export interface CompositeDefinition {
  name: string;
  permalink: string;
  steps: CompositeStep[];
}

export interface RegistryFile {
  connectors: ConnectorDefinition[];
  composite_connectors: CompositeDefinition[];
}

export type ConnectorKind = 'connector' | 'composite';
export type ConnectorSource = 'manual' | 'repository';

/** What the store keeps per (tenant, permalink). */
export interface StoredConnector {
  tenant: string;
  kind: ConnectorKind;
  definition: ConnectorDefinition | CompositeDefinition;
  source: ConnectorSource;
  /** `owner/repo` for repository connectors (docs/design.md#repository-names). */
  repository?: string;
  /** Identifies the repository link that owns it (tenant + repository); absent for manual ones. */
  link?: string;
  /**
   * Changes whenever the definition changes (SHA-256 of its canonical JSON): part of the cache key
   * (docs/design.md#http-cache), so an update invalidates cached responses.
   */
  revision: string;
  /** Commit the definition came from (repository connectors). */
  commit_sha?: string;
  created_at: string;
  updated_at: string;
}

/** One validation problem, pointing at the offending value (docs/design.md#positions: 1-based positions). */
export interface ValidationIssue {
  /** JSON pointer into the validated document, e.g. `/connectors/2/headers/0/key`. */
  path: string;
  line: number;
  column: number;
  message: string;
  permalink?: string;
}
