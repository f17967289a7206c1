import { MANAGED_HEADERS } from './header-names.js';
import { functionCalls, scanTemplate } from './template-scan.js';
import { isRecord, own, type Rule, type Target } from './types.js';

/**
 * Authentication settings beyond their shape (docs/design.md#credentials-come-from-secrets, docs/design.md#oauth-jwt-bearer): credential fields reference a
 * secret; the JWT-bearer assertion's registered claims are Gatehouse's; the JOSE algorithm is set by
 * "algorithm" only; an API key sent as a header has a valid header name.
 */

/** Credential fields per type (docs/design.md#credentials-come-from-secrets): a literal credential in Git is a leaked credential. */
const CREDENTIAL_FIELDS: Record<string, readonly string[]> = {
  api_key: ['value'],
  apikey: ['value'],
  oauth_client_credentials: ['client_secret'],
  jwt: ['private_key'],
  oauth_jwt_bearer: ['private_key'],
};

const ASSERTION_CLAIMS: Record<string, string> = {
  iss: 'Gatehouse sets iss from "client_id"',
  sub: 'Gatehouse sets sub from "subject"',
  aud: 'Gatehouse sets aud from "audience"',
  exp: 'Gatehouse sets exp to 180 seconds after signing',
  iat: 'Gatehouse sets iat to the signing time',
};

export const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function authOf(target: Target): { type: string; config: Record<string, unknown>; path: string } | undefined {
  const auth = target.value.authentication;
  if (!isRecord(auth) || typeof auth.type !== 'string' || !isRecord(auth.config)) return undefined;
  return { type: auth.type, config: auth.config, path: `${target.path}/authentication/config` };
}

export const authenticationRule: Rule = (doc, _options, report) => {
  for (const target of doc.targets) {
    const auth = authOf(target);
    if (auth === undefined) continue;
    const { type, config, path } = auth;
    for (const key of own(CREDENTIAL_FIELDS, type) ?? []) {
      const value = config[key];
      if (typeof value !== 'string' || value === '') continue;
      if (functionCalls(scanTemplate(value), 'get_secret').length === 0) {
        report({
          path: `${path}/${key}`,
          at: 'value',
          message: `"${key}" is a credential and must reference a secret, e.g. "{{ get_secret('${type === 'api_key' || type === 'apikey' ? 'api_key' : key}') }}": store the value under Secrets instead of in the connector`,
        });
      }
    }
    if (type === 'oauth_jwt_bearer' && isRecord(config.additional_claims)) {
      for (const claim of Object.keys(config.additional_claims)) {
        const why = own(ASSERTION_CLAIMS, claim);
        if (why !== undefined) {
          report({ path: `${path}/additional_claims/${claim}`, at: 'key', message: `"${claim}" cannot be set in additional_claims: ${why}; remove it` });
        }
      }
    }
    if ((type === 'jwt' || type === 'oauth_jwt_bearer') && isRecord(config.jwt_headers) && 'alg' in config.jwt_headers) {
      report({ path: `${path}/jwt_headers/alg`, at: 'key', message: '"alg" cannot be set in jwt_headers: choose the signing algorithm with "algorithm"' });
    }
    if ((type === 'api_key' || type === 'apikey') && config.in === 'header' && typeof config.key === 'string' && config.key !== '') {
      if (!HTTP_TOKEN.test(config.key)) {
        report({ path: `${path}/key`, at: 'value', message: `${JSON.stringify(config.key)} is not a valid header name: use letters, digits and "-" (e.g. "X-API-Key"); the key is literal, never a template` });
      } else {
        // The API key is sent as a header like a configured one: connection-level headers stay Gatehouse's.
        const why = MANAGED_HEADERS.get(config.key.toLowerCase());
        if (why !== undefined) {
          report({ path: `${path}/key`, at: 'value', message: `the "${config.key}" header ${why} and cannot carry an API key: use a header such as "X-API-Key" or "Authorization", or "in": "query"` });
        }
      }
    }
  }
};
