import { pointer } from '../json-source.js';
import type { TemplateField } from './template-check.js';
import { isRecord, own, type Target } from './types.js';

/**
 * Where the templates of a connector or step live, and which availability column (docs/templates.md#fields-escaping-and-what-is-available)
 * each one belongs to. Rules iterate this list instead of re-deriving the field map.
 */

export interface TemplatedField {
  /** Pointer of the string value. */
  path: string;
  source: string;
  field: TemplateField;
  /** What the field is, for messages: "url", "header value", "auth client_secret" … */
  label: string;
}

/**
 * Authentication config keys whose string values are templates, per type. `claims` objects are
 * handled separately. An API key's `key` is a literal header or parameter name, like header keys.
 */
export const AUTH_TEMPLATED_KEYS: Record<string, readonly string[]> = {
  api_key: ['value'],
  apikey: ['value'],
  oauth_client_credentials: ['client_id', 'client_secret', 'token_url', 'scope'],
  jwt: ['private_key'],
  oauth_jwt_bearer: ['client_id', 'private_key', 'token_url', 'subject', 'audience'],
};

/** Objects whose top-level string values are templates (JWT claims). Header objects are literal. */
export const AUTH_TEMPLATED_OBJECTS: Record<string, readonly string[]> = {
  jwt: ['claims'],
  oauth_jwt_bearer: ['additional_claims'],
};

function fieldFor(target: Target, base: 'url' | 'header' | 'query' | 'auth' | 'request_body' | 'response_body'): TemplateField {
  return target.kind === 'step' ? (`composite_${base}` as TemplateField) : base;
}

export function templatedFields(target: Target): TemplatedField[] {
  const out: TemplatedField[] = [];
  const v = target.value;
  if (typeof v.url === 'string') out.push({ path: `${target.path}/url`, source: v.url, field: fieldFor(target, 'url'), label: 'url' });
  for (const [list, base, label] of [['headers', 'header', 'header value'], ['query_parameters', 'query', 'query parameter value']] as const) {
    const items = v[list];
    if (!Array.isArray(items)) continue;
    items.forEach((item, i) => {
      if (isRecord(item) && typeof item.value === 'string') {
        out.push({ path: `${target.path}/${list}/${i}/value`, source: item.value, field: fieldFor(target, base), label });
      }
    });
  }
  const auth = v.authentication;
  if (isRecord(auth) && typeof auth.type === 'string' && isRecord(auth.config)) {
    const config = auth.config;
    const configPath = `${target.path}/authentication/config`;
    for (const key of own(AUTH_TEMPLATED_KEYS, auth.type) ?? []) {
      if (typeof config[key] === 'string') {
        out.push({ path: `${configPath}/${key}`, source: config[key], field: fieldFor(target, 'auth'), label: `authentication ${key}` });
      }
    }
    for (const key of own(AUTH_TEMPLATED_OBJECTS, auth.type) ?? []) {
      const obj = config[key];
      if (!isRecord(obj)) continue;
      for (const [claim, value] of Object.entries(obj)) {
        if (typeof value === 'string') {
          out.push({ path: `${configPath}/${key}${pointer(claim)}`, source: value, field: fieldFor(target, 'auth'), label: `authentication ${key}.${claim}` });
        }
      }
    }
  }
  for (const key of ['request_body', 'response_body'] as const) {
    if (typeof v[key] === 'string' && v[key] !== '') {
      out.push({ path: `${target.path}/${key}`, source: v[key], field: fieldFor(target, key), label: key });
    }
  }
  return out;
}

/** The URL-like fields that follow the URL rules: the upstream url and an OAuth token_url. */
export function urlFields(target: Target): TemplatedField[] {
  return templatedFields(target).filter((f) => f.label === 'url' || f.label === 'authentication token_url');
}
