import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { validateRegistryText } from '../../src/registry/validate.js';
import { at, connector, errorsOf, expectOnly, expectValid, registry, STRICT } from './helpers.js';

const schemaText = readFileSync(new URL('../../schemas/connectors_registry.schema.json', import.meta.url), 'utf8');

describe('schemas/connectors_registry.schema.json', () => {
  it('is a valid draft 2020-12 schema with an $id', () => {
    const schema = JSON.parse(schemaText) as { $schema: string; $id: string };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toMatch(/^[a-z]+:/);
    const ajv = new Ajv2020({ strict: false });
    expect(ajv.validateSchema(schema)).toBe(true);
  });

  it('accepts a "$schema" key so editors can validate while typing', () => {
    expectValid(JSON.stringify({ $schema: './schemas/connectors_registry.schema.json', connectors: [connector()] }));
  });

  it('ignores unknown keys everywhere and drops them from the normalised model', () => {
    const text = JSON.stringify({
      connectors: [connector({ description: 'x', headers: [{ key: 'A', value: 'b', note: 1 }], authentication: { type: 'none', extra: true } })],
      extra: 1,
    });
    const r = validateRegistryText(text, STRICT);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.connectors[0]).not.toHaveProperty('description');
    expect(r.value.connectors[0]!.headers[0]).toEqual({ key: 'A', value: 'b', overridable: false });
  });
});

describe('structural rules (schema)', () => {
  it('needs a JSON object at the top', () => {
    expectOnly('[1, 2]', '', { line: 1, column: 1 }, /must be an object, not an array/);
  });

  it('needs "connectors" (reported on the enclosing object)', () => {
    const text = '{\n  "composite_connectors": []\n}';
    expectOnly(text, '', { line: 1, column: 1 }, /missing required key "connectors".*"connectors": \[/);
  });

  it('needs "connectors" to be an array', () => {
    const text = '{\n  "connectors": {"name": "x"}\n}';
    expectOnly(text, '/connectors', at(text, '{"name"'), /must be an array, not an object/);
  });

  it('reports a missing name and url at the connector object', () => {
    const text = registry([{ method: 'GET' }]);
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
      ['/connectors/0', at(text, '{', 1).line, at(text, '{', 1).column],
      ['/connectors/0', at(text, '{', 1).line, at(text, '{', 1).column],
    ]);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/missing required key "name"/), expect.stringMatching(/missing required key "url".*https:\/\//)]);
  });

  it('limits the name to 255 characters', () => {
    const text = registry([connector({ name: 'n'.repeat(256), permalink: 'long' })]);
    expectOnly(text, '/connectors/0/name', at(text, '"nnn'), /is 256 characters long; the maximum is 255/);
    expectValid(registry([connector({ name: 'n'.repeat(255) })]));
  });

  it('rejects an empty name', () => {
    const text = registry([connector({ name: '', permalink: 'x' })]);
    expectOnly(text, '/connectors/0/name', at(text, '""'), /must not be empty/);
  });

  it('limits the url to 2048 characters', () => {
    const url = `https://api.example.com/${'a'.repeat(2030)}`;
    const text = registry([connector({ url })]);
    expectOnly(text, '/connectors/0/url', at(text, '"https'), /is 2054 characters long; the maximum is 2048/);
    expectValid(registry([connector({ url: url.slice(0, 2048) })]));
  });

  it('rejects an unknown method and hints at upper case', () => {
    let text = registry([connector({ method: 'FETCH' })]);
    expectOnly(text, '/connectors/0/method', at(text, '"FETCH"'), /"FETCH" is not a supported HTTP method: use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS/);
    text = registry([connector({ method: 'post' })]);
    expectOnly(text, '/connectors/0/method', at(text, '"post"'), /methods are upper-case: "POST"/);
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']) expectValid(registry([connector({ method })]));
  });

  it('reports a non-string enum value once, with the allowed values (not also "put it in double quotes")', () => {
    const text = registry([
      connector({ name: 'E0', method: 1 }),
      connector({ name: 'E1', authentication: { type: 5 } }),
      connector({ name: 'E2', authentication: { type: 'api_key', config: { key: 'X-Key', value: "{{ get_secret('k') }}", in: 3 } } }),
      connector({ name: 'E3', authentication: { type: 'jwt', config: { private_key: "{{ get_secret('k') }}", claims: {}, algorithm: 256 } } }),
    ]);
    expect(errorsOf(text).map((e) => [e.path, e.message])).toEqual([
      ['/connectors/0/method', '1 is not a supported HTTP method: use one of GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS'],
      ['/connectors/1/authentication/type', 'unknown authentication type 5: use one of none, api_key, oauth_client_credentials, jwt, oauth_jwt_bearer'],
      ['/connectors/2/authentication/config/in', '3 is not allowed: "in" must be "header" or "query"'],
      ['/connectors/3/authentication/config/algorithm', expect.stringMatching(/^256 is not a supported JWT algorithm: use one of HS256/)],
    ]);
  });

  it('checks header and query entries', () => {
    const text = registry([
      connector({
        headers: [{ key: 'k'.repeat(256), value: 'v' }, { key: 'B', value: 'v'.repeat(1001) }, { key: 'C', value: 'x', overridable: 'yes' }, { value: 'x' }],
        query_parameters: 'limit=20',
      }),
    ]);
    const errors = errorsOf(text);
    expect(errors.map((e) => [e.path, e.line, e.column, e.message.split(':')[0]])).toEqual([
      ['/connectors/0/headers/0/key', ...Object.values(at(text, '"kkk')), 'is 256 characters long; the maximum is 255'],
      ['/connectors/0/headers/1/value', ...Object.values(at(text, '"vvv')), 'is 1001 characters long; the maximum is 1000'],
      ['/connectors/0/headers/2/overridable', ...Object.values(at(text, '"yes"')), 'must be true or false, not a string (without quotes)'],
      ['/connectors/0/headers/3', ...Object.values(at(text, '{', 5)), 'missing required key "key"'],
      ['/connectors/0/query_parameters', ...Object.values(at(text, '"limit=20"')), 'must be an array, not a string'],
    ]);
  });

  it('checks the permalink pattern and suggests a fix', () => {
    const text = registry([connector({ permalink: 'Weather_API' })]);
    expectOnly(text, '/connectors/0/permalink', at(text, '"Weather_API"'), /not a valid permalink.*\(e\.g\. "weather-api"\)/);
    for (const bad of ['-a', 'a-', 'a--b', 'A', 'a b', 'p'.repeat(256)]) {
      expect(errorsOf(registry([connector({ permalink: bad })])).length).toBeGreaterThan(0);
    }
  });

  it('limits response_content_type and refuses line breaks in it', () => {
    let text = registry([connector({ response_content_type: `application/${'x'.repeat(250)}` })]);
    expectOnly(text, '/connectors/0/response_content_type', at(text, '"application/'), /maximum is 255/);
    text = registry([connector({ response_content_type: 'text/plain\r\nX-Evil: 1' })]);
    expectOnly(text, '/connectors/0/response_content_type', at(text, '"text/plain'), /control character or line break/);
  });

  it('checks path parameter rows', () => {
    const text = registry([connector({ url: 'https://api.example.com/{{ pathParams.id }}', path_parameters: [{ key: 'id', value: 'a b' }] })]);
    expectOnly(text, '/connectors/0/path_parameters/0/value', at(text, '"a b"'), /may contain only letters, digits/);
  });

  describe('authentication', () => {
    it('rejects an unknown type', () => {
      const text = registry([connector({ authentication: { type: 'basic', config: {} } })]);
      expectOnly(text, '/connectors/0/authentication/type', at(text, '"basic"'), /unknown authentication type "basic": use one of none, api_key, oauth_client_credentials, jwt, oauth_jwt_bearer/);
    });

    it('needs config for types that have settings', () => {
      const text = registry([connector({ authentication: { type: 'jwt' } })]);
      expectOnly(text, '/connectors/0/authentication', at(text, '{', 2), /missing required key "config"/);
    });

    it('checks api_key settings', () => {
      const text = registry([connector({ authentication: { type: 'api_key', config: { key: 'X-Key', value: "{{ get_secret('k') }}", in: 'body' } } })]);
      expectOnly(text, '/connectors/0/authentication/config/in', at(text, '"body"'), /"in" must be "header" or "query"/);
      const missing = registry([connector({ authentication: { type: 'apikey', config: { key: 'X-Key', value: "{{ get_secret('k') }}" } } })]);
      expectOnly(missing, '/connectors/0/authentication/config', at(missing, '{', 3), /missing required key "in"/);
    });

    it('checks oauth_client_credentials settings', () => {
      const text = registry([connector({ authentication: { type: 'oauth_client_credentials', config: { client_id: 'id', client_secret: "{{ get_secret('s') }}" } } })]);
      expectOnly(text, '/connectors/0/authentication/config', at(text, '{', 3), /missing required key "token_url"/);
    });

    it('checks jwt settings', () => {
      const text = registry([connector({ authentication: { type: 'jwt', config: { private_key: "{{ get_secret('k') }}", algorithm: 'none', claims: 'sub=1' } } })]);
      const errors = errorsOf(text);
      expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
        ['/connectors/0/authentication/config/algorithm', ...Object.values(at(text, '"none"'))],
        ['/connectors/0/authentication/config/claims', ...Object.values(at(text, '"sub=1"'))],
      ]);
      expect(errors[0]!.message).toMatch(/not a supported JWT algorithm: use one of HS256.*EdDSA/);
    });

    it('checks oauth_jwt_bearer settings', () => {
      const config = { client_id: 'c', private_key: "{{ get_secret('k') }}", token_url: 'https://login.example.com/token', subject: 's', audience: 'a' };
      let text = registry([connector({ authentication: { type: 'oauth_jwt_bearer', config: { ...config, token_ttl: '3600' } } })]);
      expectOnly(text, '/connectors/0/authentication/config/token_ttl', at(text, '"3600"'), /must be a whole number, not a string/);
      text = registry([connector({ authentication: { type: 'oauth_jwt_bearer', config: { ...config, token_ttl: 0 } } })]);
      expectOnly(text, '/connectors/0/authentication/config/token_ttl', at(text, '0\n'), /between 1 and 31536000/);
      const { audience: _a, ...noAudience } = config;
      text = registry([connector({ authentication: { type: 'oauth_jwt_bearer', config: noAudience } })]);
      expectOnly(text, '/connectors/0/authentication/config', at(text, '{', 3), /missing required key "audience"/);
    });
  });

  describe('composite connectors', () => {
    const step = { name: 'one', url: 'https://api.example.com/a' };
    it('need steps, at least one', () => {
      let text = registry([], [{ name: 'C' }]);
      expectOnly(text, '/composite_connectors/0', at(text, '{', 1), /missing required key "steps"/);
      text = registry([], [{ name: 'C', steps: [] }]);
      expectOnly(text, '/composite_connectors/0/steps', at(text, '[]', 1), /at least one step/);
      expectValid(registry([], [{ name: 'C', steps: [step] }]));
    });

    it('need slug step names', () => {
      const text = registry([], [{ name: 'C', steps: [{ ...step, name: 'Fetch User' }] }]);
      expectOnly(text, '/composite_connectors/0/steps/0/name', at(text, '"Fetch User"'), /must be a slug.*"fetch-user"/);
    });
  });
});
