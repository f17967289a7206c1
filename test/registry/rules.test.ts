import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/registry/validate.js';
import { at, connector, errorsOf, expectOnly, expectValid, registry } from './helpers.js';

const secret = "{{ get_secret('api_key') }}";

describe('semantic rules', () => {
  it('are each a module of their own, run in a fixed order', () => {
    expect(RULES.map((r) => r.name)).toEqual([
      'permalink-derivation',
      'duplicate-permalinks',
      'duplicate-parameter-keys',
      'header-names',
      'url',
      'path-parameters',
      'authentication',
      'templates',
      'composite-steps',
    ]);
  });

  describe('permalink derivation', () => {
    it('derives a permalink from the name when none is given', () => {
      expectValid(registry([connector({ name: 'Café Orders!' })]));
    });
    it('asks for a permalink when the name has no letter or digit', () => {
      const text = registry([connector({ name: '!!!' })]);
      expectOnly(text, '/connectors/0/name', at(text, '"!!!"'), /no permalink can be derived.*add "permalink"/);
      expectValid(registry([connector({ name: '!!!', permalink: 'bangs' })]));
    });
    it('applies to composite connectors too', () => {
      const text = registry([], [{ name: '日本', steps: [{ name: 'a', url: 'https://api.example.com/' }] }]);
      expectOnly(text, '/composite_connectors/0/name', at(text, '"日本"'), /no permalink can be derived/);
    });
  });

  describe('duplicate permalinks', () => {
    it('rejects two connectors with the same explicit permalink, at the second', () => {
      const text = registry([connector({ name: 'A', permalink: 'same' }), connector({ name: 'B', permalink: 'same' })]);
      expectOnly(text, '/connectors/1/permalink', at(text, '"same"', 1), /duplicate permalink "same": \/connectors\/0 \("A"\) already uses it/);
    });
    it('compares derived permalinks too, pointing at the name', () => {
      const text = registry([connector({ name: 'Weather API' }), connector({ name: 'weather-api!' })]);
      expectOnly(text, '/connectors/1/name', at(text, '"weather-api!"'), /duplicate permalink "weather-api" \(derived from the name\)/);
    });
    it('shares one namespace between connectors and composites', () => {
      const text = registry([connector({ name: 'Orders' })], [{ name: 'Orders', steps: [{ name: 'a', url: 'https://api.example.com/' }] }]);
      expectOnly(text, '/composite_connectors/0/name', at(text, '"Orders"', 1), /share one namespace/);
    });
    it('carries the permalink on every error of a connector', () => {
      const errors = errorsOf(registry([connector({ name: 'Weather API', method: 'FETCH' })]));
      expect(errors[0]!.permalink).toBe('weather-api');
    });
  });

  describe('duplicate header, query and path-parameter keys', () => {
    it('compares header keys case-insensitively, as HTTP does', () => {
      const text = registry([connector({ headers: [{ key: 'Accept', value: 'a' }, { key: 'accept', value: 'b' }] })]);
      expectOnly(text, '/connectors/0/headers/1/key', at(text, '"accept"'), /duplicate header "accept": headers\/0 already declares it \(header names are case-insensitive\)/);
    });
    it('compares query keys case-sensitively', () => {
      expectValid(registry([connector({ query_parameters: [{ key: 'q', value: 'a' }, { key: 'Q', value: 'b' }] })]));
      const text = registry([connector({ query_parameters: [{ key: 'q', value: 'a' }, { key: 'x', value: 'b' }, { key: 'q', value: 'c' }] })]);
      expectOnly(text, '/connectors/0/query_parameters/2/key', at(text, '"q"', 1), /duplicate query parameter "q": query_parameters\/0/);
    });
    it('rejects duplicate path-parameter keys', () => {
      const text = registry([connector({ url: 'https://api.example.com/{{ pathParams.id }}', path_parameters: [{ key: 'id' }, { key: 'id' }] })]);
      expectOnly(text, '/connectors/0/path_parameters/1/key', at(text, '"id"', 1), /duplicate path parameter "id"/);
    });
    it('checks composite step lists as well', () => {
      const text = registry([], [{ name: 'C', steps: [{ name: 'a', url: 'https://api.example.com/', headers: [{ key: 'X-A', value: '1' }, { key: 'x-a', value: '2' }] }] }]);
      expectOnly(text, '/composite_connectors/0/steps/0/headers/1/key', at(text, '"x-a"'), /duplicate header/);
    });
  });

  describe('duplicate JSON object keys', () => {
    it('rejects a key repeated in one object, at the repeated key', () => {
      const text = '{\n  "connectors": [\n    {\n      "name": "A",\n      "url": "https://api.example.com/a",\n      "url": "https://api.example.com/b"\n    }\n  ]\n}';
      expectOnly(text, '/connectors/0/url', at(text, '"url"', 1), /duplicate key "url" in the same object \(first at line 5, column 7\)/);
    });
  });

  describe('header names', () => {
    it('requires a valid HTTP field name', () => {
      const text = registry([connector({ headers: [{ key: 'X Custom', value: 'a' }] })]);
      expectOnly(text, '/connectors/0/headers/0/key', at(text, '"X Custom"'), /not a valid header name/);
    });
    it('refuses connection-level headers', () => {
      const text = registry([connector({ headers: [{ key: 'Host', value: 'evil.example.com' }] })]);
      expectOnly(text, '/connectors/0/headers/0/key', at(text, '"Host"'), /"Host" header is derived from the url and cannot be configured/);
    });
  });

  describe('path parameters', () => {
    const url = 'https://api.example.com/ideas/{{ pathParams.idea_id }}/endorsements';
    it('accepts declared and used parameters, including bracket access and defaults', () => {
      expectValid(registry([connector({ url, path_parameters: [{ key: 'idea_id' }] })]));
      expectValid(registry([connector({ url: "https://api.example.com/{{ pathParams['post-slug'] }}", path_parameters: [{ key: 'post-slug', value: 'hello-world' }] })]));
      expectValid(registry([connector({ url, path_parameters: [{ key: 'idea_id', value: '42', overridable: false }] })]));
    });
    it('rejects a referenced but undeclared parameter, at the reference', () => {
      const text = registry([connector({ url })]);
      expectOnly(text, '/connectors/0/url', at(text, 'pathParams.idea_id'), /uses pathParams\.idea_id but path_parameters does not declare it: add \{"key": "idea_id"\}/);
    });
    it('rejects a declared but unused parameter, at its key', () => {
      const text = registry([connector({ path_parameters: [{ key: 'unused' }] })]);
      expectOnly(text, '/connectors/0/path_parameters/0/key', at(text, '"unused"'), /declared but the url never uses it: reference it in the url as \{\{ pathParams\.unused \}\}/);
    });
    it('rejects dynamic references', () => {
      const text = registry([connector({ url: 'https://api.example.com/{{ pathParams[name] }}' })]);
      expectOnly(text, '/connectors/0/url', at(text, 'pathParams'), /refer to path parameters by a literal name/);
    });
    it('rejects pathParams outside the url (availability matrix)', () => {
      const text = registry([connector({ headers: [{ key: 'X-Id', value: '{{ pathParams.id }}' }] })]);
      expectOnly(text, '/connectors/0/headers/0/value', at(text, 'pathParams'), /'pathParams' is not available in header templates; it can be used in the connector URL/);
    });
    it('rejects pathParams in composite steps (availability matrix)', () => {
      const text = registry([], [{ name: 'C', steps: [{ name: 'a', url: 'https://api.example.com/{{ pathParams.id }}' }] }]);
      expectOnly(text, '/composite_connectors/0/steps/0/url', at(text, 'pathParams'), /'pathParams' is not available in composite step URL templates/);
    });
    it('rejects traversal defaults and a pin (overridable: false) without a value', () => {
      const text = registry([connector({ url: 'https://api.example.com/{{ pathParams.a }}/{{ pathParams.b }}', path_parameters: [{ key: 'a', value: '..' }, { key: 'b', overridable: false }] })]);
      const errors = errorsOf(text);
      expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
        ['/connectors/0/path_parameters/0/value', ...Object.values(at(text, '".."'))],
        ['/connectors/0/path_parameters/1/overridable', ...Object.values(at(text, 'false'))],
      ]);
      expect(errors[0]!.message).toMatch(/path traversal/);
      expect(errors[1]!.message).toMatch(/no "value" is set: add a "value" or remove "overridable"/);
    });
  });

  describe('authentication', () => {
    it('accepts every type with secret references', () => {
      expectValid(registry([connector({ authentication: { type: 'api_key', config: { key: 'Authorization', value: "Bearer {{ get_secret('my_token') }}", in: 'header' } } })]));
    });
    it.each([
      ['api_key', { key: 'X-API-Key', value: 'sk-live-123', in: 'header' }, 'value', '"sk-live-123"'],
      ['apikey', { key: 'key', value: 'abc', in: 'query' }, 'value', '"abc"'],
      ['oauth_client_credentials', { client_id: 'id', client_secret: 'hunter2', token_url: 'https://auth.example.com/token' }, 'client_secret', '"hunter2"'],
      ['jwt', { private_key: '-----BEGIN PRIVATE KEY-----', claims: {} }, 'private_key', '"-----BEGIN'],
      ['oauth_jwt_bearer', { client_id: 'c', private_key: 'pem', token_url: 'https://auth.example.com/token', subject: 's', audience: 'a' }, 'private_key', '"pem"'],
    ])('%s: a literal credential is rejected (credentials must come from get_secret())', (type, config, field, needle) => {
      const text = registry([connector({ authentication: { type, config } })]);
      expectOnly(text, `/connectors/0/authentication/config/${field}`, at(text, needle), /is a credential and must reference a secret, e\.g\. "\{\{ get_secret\('.+'\) \}\}"/);
    });
    it('rejects registered claims (iss, sub, aud, exp, iat) in additional_claims, at the key', () => {
      const config = { client_id: 'c', private_key: "{{ get_secret('k') }}", token_url: 'https://auth.example.com/token', subject: 's', audience: 'a', additional_claims: { scope: 'api', iss: 'me', exp: 1 } };
      const text = registry([connector({ authentication: { type: 'oauth_jwt_bearer', config } })]);
      const errors = errorsOf(text);
      expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
        ['/connectors/0/authentication/config/additional_claims/iss', ...Object.values(at(text, '"iss"'))],
        ['/connectors/0/authentication/config/additional_claims/exp', ...Object.values(at(text, '"exp"'))],
      ]);
      expect(errors[0]!.message).toMatch(/"iss" cannot be set in additional_claims: Gatehouse sets iss from "client_id"/);
    });
    it('rejects alg in jwt_headers', () => {
      const text = registry([connector({ authentication: { type: 'jwt', config: { private_key: secret, claims: {}, jwt_headers: { alg: 'none' } } } })]);
      expectOnly(text, '/connectors/0/authentication/config/jwt_headers/alg', at(text, '"alg"'), /choose the signing algorithm with "algorithm"/);
    });
    it('requires a valid header name for a header API key', () => {
      const text = registry([connector({ authentication: { type: 'api_key', config: { key: 'X API Key', value: secret, in: 'header' } } })]);
      expectOnly(text, '/connectors/0/authentication/config/key', at(text, '"X API Key"'), /not a valid header name/);
      expectValid(registry([connector({ authentication: { type: 'api_key', config: { key: 'api key', value: secret, in: 'query' } } })]));
    });
    it('refuses a connection-level header (Host, Content-Length …) for a header API key, like a configured header', () => {
      const text = registry([connector({ authentication: { type: 'api_key', config: { key: 'Host', value: secret, in: 'header' } } })]);
      expectOnly(text, '/connectors/0/authentication/config/key', at(text, '"Host"'), /"Host" header is derived from the url and cannot carry an API key/);
      const cl = registry([connector({ authentication: { type: 'apikey', config: { key: 'content-length', value: secret, in: 'header' } } })]);
      expectOnly(cl, '/connectors/0/authentication/config/key', at(cl, '"content-length"'), /cannot carry an API key/);
      expectValid(registry([connector({ authentication: { type: 'api_key', config: { key: 'Host', value: secret, in: 'query' } } })]));
      expectValid(registry([connector({ authentication: { type: 'api_key', config: { key: 'Authorization', value: `Bearer ${secret}`, in: 'header' } } })]));
    });
  });

  describe('templates', () => {
    it('reports syntax errors at the offending character of the field', () => {
      const text = registry([connector({ headers: [{ key: 'X-User', value: '{{ user.email ' }] })]);
      const e = expectOnly(text, '/connectors/0/headers/0/value', at(text, '"{{ user.email "', 0, 15), /template syntax error/);
      expect(e.permalink).toBe('example');
    });
    it('checks every templated field: query, auth, claims, bodies', () => {
      const text = registry([
        connector({
          query_parameters: [{ key: 'q', value: '{% if %}' }],
          authentication: { type: 'jwt', config: { private_key: "{{ get_secret('k') }}", claims: { sub: '{{ user.email | }}' } } },
          request_body: '{{ body_text ',
          response_body: '{% for x in %}',
        }),
      ]);
      const paths = errorsOf(text).map((e) => e.path);
      expect(paths).toEqual([
        '/connectors/0/query_parameters/0/value',
        '/connectors/0/authentication/config/claims/sub',
        '/connectors/0/request_body',
        '/connectors/0/response_body',
      ]);
    });
    it('rejects get_secret / get_variable names that can never exist', () => {
      const text = registry([connector({ headers: [{ key: 'X-Env', value: "{{ get_variable('api-env') }}" }] })]);
      expectOnly(text, '/connectors/0/headers/0/value', at(text, "get_variable('api-env')"), /get_variable\('api-env'\) can never resolve: variable names contain only letters, digits and "_".*'api_env'/);
    });
    it('requires a quoted literal name in get_secret()', () => {
      const text = registry([connector({ headers: [{ key: 'X-Key', value: '{{ get_secret(name) }}' }] })]);
      const errors = errorsOf(text);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ path: '/connectors/0/headers/0/value', line: at(text, 'get_secret(name)').line });
      expect(errors[0]!.message).toMatch(/quoted literal name/);
    });
  });

  describe('availability matrix (docs/templates.md#fields-escaping-and-what-is-available) enforced at save time', () => {
    const fnOf = (tpl: string) => tpl.match(/(get_secret|get_variable|jwt_encode|now|body_text|response|steps|request)/)![1]!;
    // [field, template, allowed]
    const connectorCases: [string, string, boolean][] = [
      ['headers', "{{ get_secret('a') }}", true],
      ['headers', "{{ get_variable('a') }}", true],
      ['headers', "{{ jwt_encode({'sub': user.email}, get_secret('k'), 'HS256') }}", true],
      ['headers', '{{ body_text }}', false],
      ['headers', '{{ response.status_code }}', false],
      ['query_parameters', "{{ get_secret('a') }}", true],
      ['query_parameters', '{{ now() }}', true],
      ['query_parameters', '{{ steps.a.body }}', false],
      ['request_body', '{{ body_text }}', true],
      ['request_body', "{{ jwt_encode({'a': 1}, 'k', 'HS256') }}", true],
      ['request_body', "{{ get_secret('a') }}", false],
      ['request_body', "{{ get_variable('a') }}", false],
      ['response_body', '{{ response.body }}{{ now() }}{{ user.id }}{{ tenant_id }}', true],
      ['response_body', "{{ get_secret('a') }}", false],
      ['response_body', "{{ get_variable('a') }}", false],
      ['response_body', "{{ jwt_encode({'a': 1}, 'k', 'HS256') }}", false],
      ['response_body', '{{ body_text }}', false],
      ['response_body', '{{ request.body_text }}', false],
    ];
    it.each(connectorCases)('connector %s: %s → allowed %s', (field, template, allowed) => {
      const value = field === 'headers' || field === 'query_parameters' ? [{ key: 'X-A', value: template }] : template;
      const text = registry([connector({ [field]: value })]);
      if (allowed) return expectValid(text);
      const path = field === 'headers' || field === 'query_parameters' ? `/connectors/0/${field}/0/value` : `/connectors/0/${field}`;
      expectOnly(text, path, at(text, fnOf(template), 0), new RegExp(`${fnOf(template)}.{0,3} is not available in`));
    });

    const stepCases: [string, string, boolean][] = [
      ['url', "https://api.example.com/{{ get_variable('v') }}/{{ steps.a.status_code }}?e={{ request.query_parameters.e }}", true],
      ['headers', "{{ get_secret('a') }}{{ steps.a.body }}", true],
      ['request_body', "{{ get_variable('a') }}{{ request.body_text }}{{ jwt_encode({'a': 1}, 'k', 'HS256') }}", true],
      ['request_body', "{{ get_secret('a') }}", false],
      ['request_body', '{{ body_text }}', false],
      ['response_body', "{{ get_variable('a') }}{{ response.body }}{{ steps.a.body }}", true],
      ['response_body', "{{ jwt_encode({'a': 1}, 'k', 'HS256') }}", false],
      ['response_body', "{{ get_secret('a') }}", false],
    ];
    it.each(stepCases)('composite step %s: %s → allowed %s', (field, template, allowed) => {
      const value = field === 'headers' ? [{ key: 'X-A', value: template }] : template;
      const steps = [{ name: 'a', url: 'https://api.example.com/a' }, { name: 'b', url: 'https://api.example.com/b', [field]: value }];
      const text = registry([], [{ name: 'C', steps }]);
      if (allowed) return expectValid(text);
      const path = field === 'headers' ? '/composite_connectors/0/steps/1/headers/0/value' : `/composite_connectors/0/steps/1/${field}`;
      expectOnly(text, path, at(text, fnOf(template), 0), new RegExp(`${fnOf(template)}.{0,3} is not available in composite step`));
    });

    it('reports get_secret in a url once, with the URL rule\'s message', () => {
      const text = registry([connector({ url: "https://api.example.com/{{ get_secret('k') }}" })]);
      expectOnly(text, '/connectors/0/url', at(text, 'get_secret'), /get_secret\(\) cannot be used in a URL/);
    });
  });

  describe('composite steps', () => {
    const step = (name: string, extra: Record<string, unknown> = {}) => ({ name, url: 'https://api.example.com/x', ...extra });
    it('rejects duplicate step names', () => {
      const text = registry([], [{ name: 'C', steps: [step('a'), step('a')] }]);
      expectOnly(text, '/composite_connectors/0/steps/1/name', at(text, '"a"', 1), /duplicate step name "a": steps\/0 already uses it/);
    });
    it('lets a step read earlier steps only', () => {
      expectValid(registry([], [{ name: 'C', steps: [step('auth'), step('fetch-user', { query_parameters: [{ key: 't', value: '{{ steps.auth.body }}' }] }), step('last', { request_body: "{{ steps['fetch-user'].body }}" })] }]));
      const text = registry([], [{ name: 'C', steps: [step('a', { request_body: '{{ steps.b.body }}' }), step('b', { response_body: '{{ steps.b.status_code }}' })] }]);
      const errors = errorsOf(text);
      expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
        ['/composite_connectors/0/steps/0/request_body', ...Object.values(at(text, 'steps.b.body'))],
        ['/composite_connectors/0/steps/1/response_body', ...Object.values(at(text, 'steps.b.status_code'))],
      ]);
      expect(errors[0]!.message).toMatch(/refers to a later step \(steps\/1\)/);
      expect(errors[1]!.message).toMatch(/is this step itself/);
    });
    it('explains bracket syntax for hyphenated names', () => {
      const text = registry([], [{ name: 'C', steps: [step('fetch-user'), step('b', { request_body: '{{ steps.fetch-user.body }}' })] }]);
      expectOnly(text, '/composite_connectors/0/steps/1/request_body', at(text, 'steps.fetch'), /names with hyphens need brackets, e\.g\. steps\['fetch-user'\]/);
    });
  });
});
