import type { AppliedAuth } from '../auth/outbound.js';
import type { CompiledRequest } from '../registry/compile.js';
import type { Authentication } from '../registry/model.js';
import type { DebugRecord, IgnoredOverride, OutgoingBody, RenderedRequest } from './context.js';
import { MASK, redact } from './redact.js';
import { asciiJson } from './timing.js';
import { joinUrl } from './url.js';

/**
 * Test Connection's `X-Debug-Request` record (docs/runtime.md#test-connection, docs/design.md#test-connection): what was sent upstream, as far
 * as the request got. Fields that read a secret show their template text; credentials are masked;
 * a value that authentication replaced was never sent and is not shown.
 */
export interface DebugParts {
  spec: CompiledRequest;
  ignored: IgnoredOverride[];
  rendered: RenderedRequest | undefined;
  applied: AppliedAuth | undefined;
  body: OutgoingBody | undefined;
}

export function debugRecord(parts: DebugParts): DebugRecord {
  const { spec, rendered, applied } = parts;
  const record: DebugRecord = {
    url: null,
    method: spec.method,
    headers: {},
    query_parameters: {},
    authentication: maskAuth(spec.authDefinition),
    request_body: parts.body?.shown ?? null,
    response_body: spec.responseBody?.source ?? null,
    response_content_type: spec.responseContentType ?? null,
    ignored_overrides: parts.ignored,
  };
  const shown = rendered?.shown;
  if (rendered === undefined || shown === undefined) return record;
  record.url = shown.url;
  record.headers = { ...shown.headers };
  record.query_parameters = { ...shown.query };
  if (applied !== undefined && applied.headers.length > 0) {
    const names = new Set(applied.headers.map(([k]) => k.toLowerCase()));
    for (const k of Object.keys(record.headers)) if (names.has(k.toLowerCase())) delete record.headers[k];
  }
  if (applied !== undefined && applied.query.length > 0) {
    const names = new Set(applied.query.map(([k]) => k));
    for (const k of names) delete record.query_parameters[k];
    const kept = rendered.query.filter(([k]) => !names.has(k)).map(([k, v]): [string, string] => [k, record.query_parameters[k] ?? v]);
    record.url = joinUrl(rendered.baseUrl, kept);
  }
  return record;
}

/** The record as the header value: ASCII JSON, every secret value redacted as a last defence. */
export function debugHeader(record: DebugRecord, secrets: Iterable<string>): string {
  const values = [...secrets];
  return asciiJson(values.length === 0 ? record : redactStrings(record, values));
}

function redactStrings(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return redact(value, secrets);
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, secrets));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[redact(k, secrets)] = redactStrings(v, secrets);
    return out;
  }
  return value;
}

/**
 * The authentication block: built from the definition, never from resolved values. Credential
 * fields are masked; other fields are shown as configured (a secret reference stays its template
 * text, so no secret value can appear).
 */
export function maskAuth(auth: Authentication): unknown {
  switch (auth.type) {
    case 'none':
      return { type: 'none' };
    case 'api_key':
      return { type: 'api_key', config: { key: auth.config.key, value: MASK, in: auth.config.in } };
    case 'oauth_client_credentials':
      return {
        type: 'oauth_client_credentials',
        config: { client_id: auth.config.client_id, client_secret: MASK, token_url: auth.config.token_url, ...(auth.config.scope ? { scope: auth.config.scope } : {}) },
      };
    case 'jwt':
      return {
        type: 'jwt',
        config: { private_key: MASK, algorithm: auth.config.algorithm ?? 'RS256', claims: MASK, ...(auth.config.jwt_headers ? { jwt_headers: auth.config.jwt_headers } : {}) },
      };
    case 'oauth_jwt_bearer':
      return {
        type: 'oauth_jwt_bearer',
        config: {
          client_id: auth.config.client_id,
          private_key: MASK,
          token_url: auth.config.token_url,
          subject: auth.config.subject,
          audience: auth.config.audience,
          token_ttl: auth.config.token_ttl ?? 3600,
          algorithm: auth.config.algorithm ?? 'RS256',
          ...(auth.config.additional_claims ? { additional_claims: MASK } : {}),
          ...(auth.config.jwt_headers ? { jwt_headers: auth.config.jwt_headers } : {}),
        },
      };
  }
}
