import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import registrySchema from '../../schemas/connectors_registry.schema.json' with { type: 'json' };
import { derivePermalink } from './permalink.js';
import type { RuleIssue } from './rules/types.js';

/**
 * Structural validation against schemas/connectors_registry.schema.json (draft 2020-12), with ajv's
 * terse messages rewritten to say what is wrong and how to fix it.
 */

export const REGISTRY_SCHEMA = registrySchema;
export const REGISTRY_SCHEMA_ID: string = registrySchema.$id;

let compiled: { file: ValidateFunction; connector: ValidateFunction } | undefined;

function validators(): { file: ValidateFunction; connector: ValidateFunction } {
  if (compiled === undefined) {
    const ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false, strictRequired: false });
    ajv.addSchema(registrySchema);
    const file = ajv.getSchema(REGISTRY_SCHEMA_ID);
    const connector = ajv.getSchema(`${REGISTRY_SCHEMA_ID}#/$defs/connector`);
    if (file === undefined || connector === undefined) throw new Error('registry schema did not compile');
    compiled = { file, connector };
  }
  return compiled;
}

/** Schema problems of a whole registry file (`kind: 'file'`) or of one Code Mode connector. */
export function schemaIssues(value: unknown, kind: 'file' | 'connector'): RuleIssue[] {
  const validate = kind === 'file' ? validators().file : validators().connector;
  if (validate(value)) return [];
  const issues: RuleIssue[] = [];
  const seen = new Set<string>();
  const errors = validate.errors ?? [];
  // A value of the wrong type for a field with a fixed set of values (method, type, in, algorithm)
  // gets one message, the one listing the allowed values: "put the value in double quotes" would
  // not fix `"method": 1`.
  const enumPaths = new Set(errors.filter((e) => e.keyword === 'enum').map((e) => e.instancePath));
  for (const err of errors) {
    // "if" only says a "then" branch failed; the branch's own errors say why.
    if (err.keyword === 'if') continue;
    if (err.keyword === 'type' && enumPaths.has(err.instancePath)) continue;
    const issue = describe(err, value);
    const id = `${issue.path}\u0000${issue.message}`;
    if (seen.has(id)) continue;
    seen.add(id);
    issues.push(issue);
  }
  return issues;
}

const JSON_TYPE_NAMES: Record<string, string> = {
  string: 'a string',
  object: 'an object',
  array: 'an array',
  boolean: 'true or false',
  integer: 'a whole number',
  number: 'a number',
  null: 'null',
};

function typeOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'a number' : 'a decimal number';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'string') return 'a string';
  return 'an object';
}

function lastSegment(path: string): string {
  const i = path.lastIndexOf('/');
  return path.slice(i + 1).replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The value at an ajv instance path inside `root`. */
function valueAt(root: unknown, path: string): unknown {
  let node = root;
  for (const raw of path === '' ? [] : path.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}

const MISSING_HINTS: Record<string, string> = {
  connectors: 'add "connectors": [ … ] (use [] when the file only holds composite_connectors)',
  name: 'add "name": the display name (1–255 characters)',
  url: 'add "url": the upstream URL, e.g. "https://api.example.com/v1/items"',
  steps: 'add "steps": [ … ] with at least one step',
  key: 'add "key": the literal name',
  value: 'add "value" (use "" for an empty value)',
  type: 'add "type": one of none, api_key, oauth_client_credentials, jwt, oauth_jwt_bearer',
  in: 'add "in": "header" or "query"',
  client_secret: `add "client_secret": "{{ get_secret('…') }}"`,
  private_key: `add "private_key": "{{ get_secret('…') }}"`,
  token_url: 'add "token_url": the https:// token endpoint',
  claims: 'add "claims": { … } (the JWT payload)',
};

function describe(err: ErrorObject, root: unknown): RuleIssue {
  const path = err.instancePath;
  const field = lastSegment(path);
  const data = valueAt(root, path);
  switch (err.keyword) {
    case 'required': {
      const missing = String(err.params.missingProperty);
      if (missing === 'config') {
        return { path, at: 'value', message: `missing required key "config": authentication of this type needs its settings in "config": { … }` };
      }
      return { path, at: 'value', message: `missing required key "${missing}": ${MISSING_HINTS[missing] ?? `add "${missing}"`}` };
    }
    case 'type': {
      const expected = String(err.params.type);
      return { path, at: 'value', message: `must be ${JSON_TYPE_NAMES[expected] ?? expected}, not ${typeOf(data)}${typeHint(expected, field)}` };
    }
    case 'enum': {
      const allowed = (err.params.allowedValues as unknown[]).filter((v) => v !== 'apikey');
      const got = JSON.stringify(data);
      if (field === 'type') return { path, at: 'value', message: `unknown authentication type ${got}: use one of ${allowed.join(', ')}` };
      if (field === 'method') {
        const upper = typeof data === 'string' ? data.toUpperCase() : '';
        const tip = (allowed as string[]).includes(upper) && upper !== data ? ` (methods are upper-case: "${upper}")` : '';
        return { path, at: 'value', message: `${got} is not a supported HTTP method: use one of ${allowed.join(', ')}${tip}` };
      }
      if (field === 'in') return { path, at: 'value', message: `${got} is not allowed: "in" must be "header" or "query"` };
      if (field === 'algorithm') return { path, at: 'value', message: `${got} is not a supported JWT algorithm: use one of ${allowed.join(', ')}` };
      return { path, at: 'value', message: `${got} is not allowed: use one of ${allowed.join(', ')}` };
    }
    case 'minLength':
      return { path, at: 'value', message: `must not be empty${emptyHint(field)}` };
    case 'maxLength': {
      const limit = Number(err.params.limit);
      const length = typeof data === 'string' ? [...data].length : 0;
      return { path, at: 'value', message: `is ${length} characters long; the maximum is ${limit}: shorten it${field === 'url' || field === 'token_url' ? ' (move long values into query_parameters)' : ''}` };
    }
    case 'pattern':
      return { path, at: 'value', message: patternMessage(field, data, path) };
    case 'minItems':
      return { path, at: 'value', message: 'a composite connector needs at least one step: add a step to "steps"' };
    case 'minimum':
    case 'maximum':
      return { path, at: 'value', message: `${JSON.stringify(data)} is out of range: "${field}" must be between 1 and 31536000 seconds (default 3600)` };
    default:
      return { path, at: 'value', message: err.message ?? `is invalid (${err.keyword})` };
  }
}

function typeHint(expected: string, field: string): string {
  if (expected === 'array') {
    if (field === 'headers' || field === 'query_parameters') return `: write a list of {"key", "value", "overridable"} objects, e.g. [{"key": "Accept", "value": "application/json"}]`;
    if (field === 'path_parameters') return ': write a list of {"key"} objects, e.g. [{"key": "idea_id"}]';
    return ': wrap the items in [ … ]';
  }
  if (expected === 'string') return ': put the value in double quotes';
  if (expected === 'boolean') return ' (without quotes)';
  if (expected === 'integer') return ' (without quotes, e.g. 3600)';
  return '';
}

function emptyHint(field: string): string {
  switch (field) {
    case 'name':
      return ': give the connector a name (the permalink is derived from it)';
    case 'url':
    case 'token_url':
      return ': set the https:// URL';
    case 'key':
      return ': set the literal name, or remove the entry';
    case 'value':
      return `: reference a secret, e.g. "{{ get_secret('api_key') }}"`;
    case 'client_secret':
    case 'private_key':
      return `: reference a secret, e.g. "{{ get_secret('${field}') }}"`;
    case 'permalink':
      return ': remove it to derive it from the name, or set e.g. "weather-api"';
    default:
      return '';
  }
}

function patternMessage(field: string, data: unknown, path: string): string {
  const got = JSON.stringify(data);
  if (field === 'permalink') {
    const suggestion = typeof data === 'string' ? derivePermalink(data) : '';
    return `${got} is not a valid permalink: use lowercase letters and digits separated by single hyphens${suggestion !== '' ? ` (e.g. "${suggestion}")` : ''}, or remove it to derive one from the name`;
  }
  if (field === 'name' && path.includes('/steps/')) {
    const suggestion = typeof data === 'string' ? derivePermalink(data) : '';
    return `step name ${got} must be a slug of lowercase letters, digits and single hyphens${suggestion !== '' ? ` (e.g. "${suggestion}")` : ''}; later steps refer to it as steps.<name>`;
  }
  if (field === 'value' && path.includes('/path_parameters/')) {
    return `default value ${got} may contain only letters, digits, ".", "_", "~" and "-" (the characters a path segment carries unencoded)`;
  }
  if (field === 'response_content_type') return `${got} contains a control character or line break: write a media type such as "application/json"`;
  return `${got} does not have the expected format`;
}

/** Exposed for tests and tooling (e.g. checking that the schema itself compiles). */
export function compileSchemas(): void {
  validators();
}

export type { ValidateFunction };
