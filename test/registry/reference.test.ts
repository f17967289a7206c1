import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { validateConnectorText, validateConnectorValue, validateRegistryText, validateRegistryValue } from '../../src/registry/validate.js';
import { at, STRICT } from './helpers.js';

const referenceText = readFileSync(new URL('./fixtures/reference-registry.json', import.meta.url), 'utf8');

describe("the reference's example registry files", () => {
  it('validate: path parameters, the legacy apikey type, every authentication type, templated host forms and a composite', () => {
    const r = validateRegistryText(referenceText, STRICT);
    expect(r.ok ? [] : r.errors).toEqual([]);
    if (!r.ok) return;
    expect(r.value.connectors.map((c) => c.permalink)).toEqual([
      'idea-endorsements',
      'weather-api',
      'groups',
      'public-data',
      'salesforce-accounts',
      'signed-service',
      'salesforce-via-jwt-bearer',
      'regional-orders',
    ]);
    expect(r.value.composite_connectors.map((c) => [c.permalink, c.steps.map((s) => s.name)])).toEqual([['contact-orders', ['contact', 'orders']]]);
  });

  it('come out normalised: defaults applied, unknown keys dropped, apikey → api_key', () => {
    const r = validateRegistryText(referenceText, STRICT);
    if (!r.ok) throw new Error('invalid');
    const [endorsements, weather, groups, publicData, , signed, bearer, regional] = r.value.connectors;
    expect(endorsements).toEqual({
      name: 'Idea Endorsements',
      permalink: 'idea-endorsements',
      url: 'https://api.example.com/ideas/{{ pathParams.idea_id }}/endorsements',
      method: 'GET',
      headers: [{ key: 'Accept', value: 'application/json', overridable: false }],
      query_parameters: [{ key: 'limit', value: '20', overridable: true }],
      path_parameters: [{ key: 'idea_id', overridable: true }],
      authentication: { type: 'api_key', config: { key: 'X-API-Key', value: "{{ get_secret('endorsements_api_key') }}", in: 'header' } },
      request_body: '',
      response_body: '',
      response_content_type: '',
    });
    expect(weather!.authentication).toEqual({ type: 'api_key', config: { key: 'key', value: "{{ get_secret('weather_api_key') }}", in: 'query' } });
    expect(groups!.authentication.type).toBe('oauth_client_credentials');
    expect(groups!.response_content_type).toBe('application/json');
    expect(publicData).toMatchObject({ method: 'GET', headers: [], query_parameters: [], path_parameters: [], authentication: { type: 'none' } });
    expect(signed!.authentication).toEqual({
      type: 'jwt',
      config: {
        private_key: "{{ get_secret('signing_private_key') }}",
        algorithm: 'RS256',
        claims: { iss: 'my-service', sub: '{{ user.email }}', aud: 'https://api.example.com', exp: '{{ now(3600) }}' },
        jwt_headers: { kid: 'my-key-id' },
      },
    });
    expect(bearer!.authentication).toMatchObject({ type: 'oauth_jwt_bearer', config: { token_ttl: 3600, algorithm: 'RS256', additional_claims: { scope: 'api refresh_token' } } });
    expect(regional).not.toHaveProperty('x-notes');
    const step = r.value.composite_connectors[0]!.steps[0]!;
    expect(step).toMatchObject({ method: 'GET', headers: [], request_body: '', response_body: '', response_content_type: '' });
    expect(step.query_parameters).toEqual([{ key: 'email', value: '{{ user.email }}', overridable: false }]);
  });

  it('applies defaults the reference leaves to the registry: jwt algorithm RS256, token_ttl 3600', () => {
    const text = JSON.stringify({
      connectors: [
        { name: 'A', url: 'https://a.example.com/', authentication: { type: 'jwt', config: { private_key: "{{ get_secret('k') }}", claims: { sub: 'x' } } } },
        { name: 'B', url: 'https://b.example.com/', authentication: { type: 'oauth_jwt_bearer', config: { client_id: 'c', private_key: "{{ get_secret('k') }}", token_url: 'https://b.example.com/token', subject: 's', audience: 'a' } } },
      ],
    });
    const r = validateRegistryText(text, STRICT);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.value.connectors[0]!.authentication).toMatchObject({ config: { algorithm: 'RS256' } });
    expect(r.value.connectors[1]!.authentication).toMatchObject({ config: { algorithm: 'RS256', token_ttl: 3600 } });
    expect(r.value.composite_connectors).toEqual([]);
  });

  it('an empty connectors list is valid (it removes every connector of the link)', () => {
    expect(validateRegistryText('{"connectors": []}', STRICT)).toEqual({ ok: true, value: { connectors: [], composite_connectors: [] } });
  });
});

describe('Code Mode (one connector object)', () => {
  it('validates and normalises a pasted connector', () => {
    const text = JSON.stringify({ name: 'Weather API', url: 'https://api.weather.com/v1/current', authentication: { type: 'apikey', config: { key: 'key', value: "{{ get_secret('k') }}", in: 'query' } } }, null, 2);
    const r = validateConnectorText(text, STRICT);
    expect(r).toMatchObject({ ok: true, value: { permalink: 'weather-api', method: 'GET', authentication: { type: 'api_key' } } });
  });

  it('reports problems with pointers relative to the connector', () => {
    const text = JSON.stringify({ name: 'Weather API', url: 'http://api.weather.com/v1', method: 'get' }, null, 2);
    const r = validateConnectorText(text, STRICT);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.path, e.line, e.column, e.permalink])).toEqual([
      ['/url', ...Object.values(at(text, 'http://')), 'weather-api'],
      ['/method', ...Object.values(at(text, '"get"')), 'weather-api'],
    ]);
  });

  it('reports malformed JSON with line and column', () => {
    const r = validateConnectorText('{\n  "name": "x",\n  "url": \n}', STRICT);
    expect(r).toEqual({
      ok: false,
      errors: [{ path: '', line: 4, column: 1, message: expect.stringMatching(/^invalid JSON: expected a value/) }],
      invalidJson: { line: 4, column: 1, message: expect.stringMatching(/expected a value/) },
    });
  });
});

describe('already-parsed values', () => {
  it('run the same rules without positions', () => {
    const r = validateRegistryValue({ connectors: [{ name: 'A', url: 'https://127.0.0.1/', method: 'X' }] }, STRICT);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.errors.map((e) => [e.path, e.line, e.column])).toEqual([
      ['/connectors/0/method', 0, 0],
      ['/connectors/0/url', 0, 0],
    ]);
    expect(validateConnectorValue({ name: 'A', url: 'https://api.example.com/' }, STRICT)).toMatchObject({ ok: true, value: { permalink: 'a' } });
  });
});

describe("the reference's documented violations are rejected with a message that says how to fix them", () => {
  const base = { name: 'Example', url: 'https://api.example.com/v1' };
  const secretKey = { type: 'api_key', config: { key: 'X-API-Key', value: "{{ get_secret('k') }}", in: 'header' } };
  const cases: [string, unknown, string][] = [
    ['name missing', { connectors: [{ url: base.url }] }, '/connectors/0'],
    ['url missing', { connectors: [{ name: 'x' }] }, '/connectors/0'],
    ['method not in the enum', { connectors: [{ ...base, method: 'TRACE' }] }, '/connectors/0/method'],
    ['url longer than 2048 characters', { connectors: [{ ...base, url: `https://a.example.com/${'x'.repeat(2048)}` }] }, '/connectors/0/url'],
    ['name longer than 255 characters', { connectors: [{ ...base, name: 'n'.repeat(256) }] }, '/connectors/0/name'],
    ['url not https', { connectors: [{ ...base, url: 'http://api.example.com/' }] }, '/connectors/0/url'],
    ['url on localhost', { connectors: [{ ...base, url: 'https://localhost/x' }] }, '/connectors/0/url'],
    ['url on a private IP', { connectors: [{ ...base, url: 'https://192.168.1.10/x' }] }, '/connectors/0/url'],
    ['raw space in the url', { connectors: [{ ...base, url: 'https://api.example.com/a b' }] }, '/connectors/0/url'],
    ['host expression other than get_variable()', { connectors: [{ ...base, url: 'https://{{ user.id }}.example.com/' }] }, '/connectors/0/url'],
    ['host filter other than default()', { connectors: [{ ...base, url: "https://{{ get_variable('h') | upper }}/" }] }, '/connectors/0/url'],
    ['host default() with a non-literal', { connectors: [{ ...base, url: "https://{{ get_variable('h') | default(user.email) }}/" }] }, '/connectors/0/url'],
    ['templated scheme', { connectors: [{ ...base, url: "{{ get_variable('scheme') }}://api.example.com" }] }, '/connectors/0/url'],
    ['whole-origin fallback without a scheme', { connectors: [{ ...base, url: "{{ get_variable('o') | default('app.example.com') }}/x" }] }, '/connectors/0/url'],
    ['get_secret in the url (it would end up in logs)', { connectors: [{ ...base, url: "https://api.example.com/{{ get_secret('t') }}" }] }, '/connectors/0/url'],
    ['malformed permalink', { connectors: [{ ...base, permalink: 'Not Valid' }] }, '/connectors/0/permalink'],
    ['duplicate header', { connectors: [{ ...base, headers: [{ key: 'A', value: '1' }, { key: 'A', value: '2' }] }] }, '/connectors/0/headers/1/key'],
    ['duplicate query key', { connectors: [{ ...base, query_parameters: [{ key: 'a', value: '1' }, { key: 'a', value: '2' }] }] }, '/connectors/0/query_parameters/1/key'],
    ['query key longer than 255 characters', { connectors: [{ ...base, query_parameters: [{ key: 'k'.repeat(256), value: '1' }] }] }, '/connectors/0/query_parameters/0/key'],
    ['query value longer than 1000 characters', { connectors: [{ ...base, query_parameters: [{ key: 'k', value: 'v'.repeat(1001) }] }] }, '/connectors/0/query_parameters/0/value'],
    ['undeclared path parameter', { connectors: [{ ...base, url: 'https://api.example.com/{{ pathParams.id }}' }] }, '/connectors/0/url'],
    ['declared path parameter not in the url', { connectors: [{ ...base, path_parameters: [{ key: 'id' }] }] }, '/connectors/0/path_parameters/0/key'],
    ['duplicate permalinks in the file', { connectors: [{ ...base, permalink: 'p' }, { ...base, permalink: 'p' }] }, '/connectors/1/permalink'],
    ['invalid authentication config', { connectors: [{ ...base, authentication: { type: 'api_key', config: { key: 'X' } } }] }, '/connectors/0/authentication/config'],
    ['response_content_type longer than 255 characters', { connectors: [{ ...base, response_content_type: 'x'.repeat(256) }] }, '/connectors/0/response_content_type'],
    ['unknown authentication type', { connectors: [{ ...base, authentication: { type: 'oauth2' } }] }, '/connectors/0/authentication/type'],
    ['literal credential instead of a get_secret() reference', { connectors: [{ ...base, authentication: { ...secretKey, config: { ...secretKey.config, value: 'sk-1' } } }] }, '/connectors/0/authentication/config/value'],
    ['get_secret in a response template (checked when saved)', { connectors: [{ ...base, response_body: "{{ get_secret('k') }}" }] }, '/connectors/0/response_body'],
    ['duplicate step names', { connectors: [], composite_connectors: [{ name: 'C', steps: [{ name: 'a', url: base.url }, { name: 'a', url: base.url }] }] }, '/composite_connectors/0/steps/1/name'],
    ['step name not a slug', { connectors: [], composite_connectors: [{ name: 'C', steps: [{ name: 'Step One', url: base.url }] }] }, '/composite_connectors/0/steps/0/name'],
    ['get_secret in a step request body', { connectors: [], composite_connectors: [{ name: 'C', steps: [{ name: 'a', url: base.url, request_body: "{{ get_secret('k') }}" }] }] }, '/composite_connectors/0/steps/0/request_body'],
  ];
  const HOW_TO_FIX = /\b(use|add|remove|write|put|reference|shorten|give|set|keep|choose|rename|declare|send|store|only|must|needs?|can be used in)\b/i;

  it.each(cases)('%s', (_label, doc, path) => {
    const text = JSON.stringify(doc, null, 2);
    const r = validateRegistryText(text, STRICT);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const error = r.errors.find((e) => e.path === path);
    expect(error, JSON.stringify(r.errors)).toBeDefined();
    expect(error!.line).toBeGreaterThan(0);
    expect(error!.message).toMatch(HOW_TO_FIX);
  });
});
