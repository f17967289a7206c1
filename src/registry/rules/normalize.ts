import type {
  Authentication,
  CompositeDefinition,
  CompositeStep,
  ConnectorDefinition,
  HttpMethod,
  JwtAlgorithm,
  Param,
  PathParam,
  RegistryFile,
} from '../model.js';
import { derivePermalink } from '../permalink.js';
import { isRecord } from './types.js';

/**
 * The last stage of validation: a document that passed every rule becomes the normalised model of
 * src/registry/model.ts — defaults applied, unknown keys dropped, `apikey` spelled `api_key`.
 * Callers only pass values that validated, so shapes are trusted here.
 */

type Json = Record<string, unknown>;

const str = (v: unknown, fallback = ''): string => (typeof v === 'string' ? v : fallback);

function params(v: unknown): Param[] {
  return (Array.isArray(v) ? v : []).filter(isRecord).map((p) => ({ key: str(p.key), value: str(p.value), overridable: p.overridable === true }));
}

function pathParams(v: unknown): PathParam[] {
  return (Array.isArray(v) ? v : []).filter(isRecord).map((p) => ({
    key: str(p.key),
    ...(typeof p.value === 'string' ? { value: p.value } : {}),
    overridable: p.overridable !== false,
  }));
}

function object(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? { ...v } : undefined;
}

export function normalizeAuthentication(v: unknown): Authentication {
  if (!isRecord(v)) return { type: 'none' };
  const c: Json = isRecord(v.config) ? v.config : {};
  const algorithm = (str(c.algorithm, 'RS256') || 'RS256') as JwtAlgorithm;
  switch (v.type) {
    case 'api_key':
    case 'apikey':
      return { type: 'api_key', config: { key: str(c.key), value: str(c.value), in: c.in === 'query' ? 'query' : 'header' } };
    case 'oauth_client_credentials':
      return {
        type: 'oauth_client_credentials',
        config: { client_id: str(c.client_id), client_secret: str(c.client_secret), token_url: str(c.token_url), ...(typeof c.scope === 'string' ? { scope: c.scope } : {}) },
      };
    case 'jwt': {
      const headers = object(c.jwt_headers);
      return { type: 'jwt', config: { private_key: str(c.private_key), algorithm, claims: object(c.claims) ?? {}, ...(headers ? { jwt_headers: headers } : {}) } };
    }
    case 'oauth_jwt_bearer': {
      const claims = object(c.additional_claims);
      const headers = object(c.jwt_headers);
      return {
        type: 'oauth_jwt_bearer',
        config: {
          client_id: str(c.client_id),
          private_key: str(c.private_key),
          token_url: str(c.token_url),
          subject: str(c.subject),
          audience: str(c.audience),
          token_ttl: typeof c.token_ttl === 'number' ? c.token_ttl : 3600,
          algorithm,
          ...(claims ? { additional_claims: claims } : {}),
          ...(headers ? { jwt_headers: headers } : {}),
        },
      };
    }
    default:
      return { type: 'none' };
  }
}

export function normalizeConnector(v: Json): ConnectorDefinition {
  const name = str(v.name);
  return {
    name,
    permalink: typeof v.permalink === 'string' ? v.permalink : derivePermalink(name),
    url: str(v.url),
    method: str(v.method, 'GET') as HttpMethod,
    headers: params(v.headers),
    query_parameters: params(v.query_parameters),
    path_parameters: pathParams(v.path_parameters),
    authentication: normalizeAuthentication(v.authentication),
    request_body: str(v.request_body),
    response_body: str(v.response_body),
    response_content_type: str(v.response_content_type),
  };
}

function normalizeStep(v: Json): CompositeStep {
  return {
    name: str(v.name),
    url: str(v.url),
    method: str(v.method, 'GET') as HttpMethod,
    headers: params(v.headers),
    query_parameters: params(v.query_parameters),
    authentication: normalizeAuthentication(v.authentication),
    request_body: str(v.request_body),
    response_body: str(v.response_body),
    response_content_type: str(v.response_content_type),
  };
}

export function normalizeComposite(v: Json): CompositeDefinition {
  const name = str(v.name);
  return {
    name,
    permalink: typeof v.permalink === 'string' ? v.permalink : derivePermalink(name),
    steps: (Array.isArray(v.steps) ? v.steps : []).filter(isRecord).map(normalizeStep),
  };
}

export function normalizeRegistry(v: Json): RegistryFile {
  return {
    connectors: (Array.isArray(v.connectors) ? v.connectors : []).filter(isRecord).map(normalizeConnector),
    composite_connectors: (Array.isArray(v.composite_connectors) ? v.composite_connectors : []).filter(isRecord).map(normalizeComposite),
  };
}
