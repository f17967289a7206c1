import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/config.js';
import { at, connector, errorsOf, expectOnly, expectValid, registry, STRICT } from './helpers.js';

/** One connector with this url; positions asserted at `needle` inside the file. */
function urlFile(url: string, extra: Record<string, unknown> = {}): string {
  return registry([connector({ url, ...extra })]);
}

function expectUrlError(url: string, needle: string, message: RegExp, options = STRICT, nth = 0): void {
  const text = urlFile(url);
  expectOnly(text, '/connectors/0/url', at(text, needle, nth), message, options);
}

describe('URL rules (docs/registry.md#urls)', () => {
  describe('valid forms', () => {
    it.each([
      'https://api.example.com/v1/items',
      'https://api.example.com:8443/v1/items?fields=a,b&sort=-date',
      'https://api.example.com/users/{{ user.id }}/profile',
      'https://api.example.com/search?q={{ user.email }}',
      "https://{{ get_variable('portal_host') }}/api/v2",
      "https://{{ get_variable(\"portal_host\") }}/api/v2",
      "{{ get_variable('instance_url') }}/services/data",
      "{{ get_variable('instance_url') | default('https://app.example.com') }}/services/data",
      "https://{{ get_variable('portal_host') | default('app.example.com', true) }}/api/v2",
      "https://{{ get_variable('portal_host') | default('app.example.com') }}/api/v2",
      "https://{{ get_variable('region') }}.api.example.com/v1",
      "https://{{ get_variable('h') }}:8443/x",
      "https://{{- get_variable('h') -}}/x",
      'https://api.example.com/a%20b',
      'https://api.example.com/{% if user.id %}me{% else %}anon{% endif %}',
      'https://[2606:4700::1111]/dns',
      'https://8.8.8.8/resolve',
      'https://API.Example.COM/x#frag',
    ])('%s', (url) => {
      expectValid(urlFile(url));
    });
  });

  describe('scheme', () => {
    it('requires https', () => {
      expectUrlError('http://api.example.com/v1', 'http://', /uses http:\/\/: upstream URLs must use https:\/\/.*UPSTREAM_ALLOW_HTTP/);
    });
    it('accepts http when UPSTREAM_ALLOW_HTTP is set, like the run-time guard', () => {
      expectValid(urlFile('http://api.example.com/v1'), { ...STRICT, allowHttp: true });
    });
    it('rejects other protocols and relative URLs', () => {
      expectUrlError('ftp://files.example.com/a', 'ftp://', /"ftp" protocol: only https:\/\//);
      expectUrlError('/v1/items', '/v1/items', /not an absolute URL/);
      expectUrlError('api.example.com/v1', 'api.example.com/v1', /not an absolute URL/);
    });
    it('rejects a templated protocol', () => {
      expectUrlError("{{ get_variable('scheme') }}://api.example.com", '{{', /the protocol cannot be templated/);
      expectUrlError("http{{ get_variable('s') }}://api.example.com", '{{', /the protocol cannot be templated/);
    });
  });

  describe('host templating', () => {
    it('rejects any expression other than get_variable in the host, naming it', () => {
      expectUrlError('https://{{ user.id }}.example.com/v1', '{{ user.id }}', /"\{\{ user\.id \}\}" cannot be used in the host: the host may only come from \{\{ get_variable\('name'\) \}\}/);
    });
    it('rejects other filters', () => {
      expectUrlError("https://{{ get_variable('h') | upper }}/v1", 'upper', /the filter "upper" is not allowed here/);
    });
    it('rejects a name that is not a quoted literal (once, from the template check)', () => {
      const text = urlFile('https://{{ get_variable(name) }}/v1');
      const errors = errorsOf(text);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ path: '/connectors/0/url', line: at(text, 'get_variable').line });
      expect(errors[0]!.message).toMatch(/quoted literal name/);
    });
    it('rejects conditionals and statements in the host', () => {
      expectUrlError("https://{{ get_variable('a') if x else 'b' }}/v1", 'if x', /only one get_variable\(\) call/);
      expectUrlError('https://{% if x %}a{% endif %}.example.com/v1', '{%', /cannot be used in the host/);
    });
    it('checks default() arguments', () => {
      expectUrlError("https://{{ get_variable('h') | default(user.email) }}/v1", '(user.email', /write default\(\) with one quoted literal/);
      expectUrlError("https://{{ get_variable('h') | default('a.example.com', false) }}/v1", 'false', /second argument of default\(\) in the host can only be true/);
      expectUrlError("https://{{ get_variable('h') | default('a', true, 1) }}/v1", ', 1', /nothing after it/);
    });
    it('requires the scheme in a whole-origin fallback', () => {
      expectUrlError("{{ get_variable('instance_url') | default('app.example.com') }}/services", "'app.example.com'", /must be a whole origin including the scheme, e\.g\. default\('https:\/\/app\.example\.com'\)/);
    });
    it('rejects a URL in the host position fallback', () => {
      expectUrlError("https://{{ get_variable('h') | default('https://app.example.com') }}/v1", "'https://app", /is a URL but stands in the host position/);
    });
    it('checks a literal fallback host against the address policy', () => {
      expectUrlError("https://{{ get_variable('h') | default('127.0.0.1') }}/v1", '{{', /with its fallback the host.*loopback/);
      expectUrlError("{{ get_variable('origin') | default('http://api.example.com') }}/v1", "'http://", /fallback origin uses http:\/\//);
    });
    it('says plainly that an empty fallback host is empty', () => {
      expectUrlError("https://{{ get_variable('h') | default('') }}/v1", '{{', /^the fallback is empty, so the host would be empty whenever the Variable is unset: give a host name/);
      expectUrlError("https://{{ get_variable('h') | default('', true) }}:8443/v1", '{{', /^the fallback is empty/);
    });
    it('requires a path after a whole-origin Variable', () => {
      const text = urlFile("{{ get_variable('origin') }}{{ pathParams.x }}", { path_parameters: [{ key: 'x' }] });
      expectOnly(text, '/connectors/0/url', at(text, '{{ pathParams'), /must continue with "\/"/);
    });
    it('checks a literal port after a templated host', () => {
      expectUrlError("https://{{ get_variable('h') }}:99999/x", ':99999', /invalid port "99999"/);
    });
    it('rejects a templated host that always ends in .localhost', () => {
      expectUrlError("https://{{ get_variable('h') }}.localhost/x", '{{', /always ends in "\.localhost"/);
    });
  });

  describe('literal hosts must be public unless UPSTREAM_ALLOW_CIDRS covers them', () => {
    it.each([
      ['https://localhost/x', 'localhost', /targets "localhost", the local machine/],
      ['https://api.localhost/x', 'api.localhost', /the local machine/],
      ['https://127.0.0.1/x', '127.0.0.1', /a loopback address/],
      ['https://127.1/x', '127.1', /"127\.1" \(= 127\.0\.0\.1\), a loopback address/],
      ['https://2130706433/x', '2130706433', /\(= 127\.0\.0\.1\), a loopback address/],
      ['https://0x7f.1/x', '0x7f.1', /loopback/],
      ['https://0177.0.0.1/x', '0177.0.0.1', /loopback/],
      ['https://[::1]/x', '[::1]', /loopback/],
      ['https://[::ffff:127.0.0.1]/x', '[::ffff', /loopback/],
      ['https://10.1.2.3/x', '10.1.2.3', /a private address/],
      ['https://172.16.5.4/x', '172.16.5.4', /private/],
      ['https://192.168.0.10/x', '192.168.0.10', /private/],
      ['https://169.254.169.254/latest/meta-data', '169.254', /a link-local address/],
      ['https://100.64.0.1/x', '100.64.0.1', /a carrier-grade NAT \(CGNAT, 100\.64\.0\.0\/10\) address/],
      ['https://224.0.0.1/x', '224.0.0.1', /a multicast address/],
      ['https://0.0.0.0/x', '0.0.0.0', /, an unspecified address/],
      ['https://240.0.0.1/x', '240.0.0.1', /a reserved address/],
      ['https://[fd00::1]/x', '[fd00', /private/],
      ['https://[fe80::1]/x', '[fe80', /link-local/],
    ])('%s is rejected', (url, needle, message) => {
      expectUrlError(url, needle, message);
    });

    it('accepts loopback literals and localhost names inside UPSTREAM_ALLOW_CIDRS', () => {
      const options = { allowHttp: true, allowCidrs: [parseCidr('127.0.0.0/8')!, parseCidr('::1/128')!] };
      for (const url of ['https://127.0.0.1:8443/x', 'http://127.1/x', 'https://[::1]/x', 'https://localhost:3000/x', 'https://[::ffff:127.0.0.1]/x']) {
        expectValid(urlFile(url), options);
      }
      // the allow list is exact: it does not open other private ranges
      const text = urlFile('https://10.0.0.1/x');
      expectOnly(text, '/connectors/0/url', at(text, '10.0.0.1'), /private/, options);
    });

    it('rejects credentials, bad ports and invalid hosts', () => {
      expectUrlError('https://user:pass@api.example.com/x', 'user:pass', /credentials/);
      expectUrlError('https://api.example.com:0/x', 'api.example.com:0', /invalid port "0"/);
      expectUrlError('https://api.example.com:http/x', 'api.example.com', /invalid port "http"/);
      expectUrlError('https:///x', '/x', /has no host/);
      // WHATWG parsers read "\\" as "/": this is host api.example.com, not credentials for evil.example
      expectUrlError('https://api.example.com\\@evil.example/x', '\\\\@', /^contains a backslash \("\\"\) after the scheme, which URL parsers read as "\/"/);
      expectUrlError('https://bücher.example/x', 'bücher', /non-ASCII character "ü".*punycode/);
      expectUrlError('https://api.exa%6dple.com/x', 'api.exa', /contains the character "%"/);
    });
  });

  describe('characters', () => {
    it('rejects raw spaces with a how-to-fix message', () => {
      expectUrlError('https://api.example.com/search?q=hello world', ' world', /contains a space.*query_parameters/);
    });
    it.each([
      ['https://api.example.com/a"b', '\\"b', 'the character "\\""'],
      ['https://api.example.com/a<b>', '<b>', 'the character "<"'],
      ['https://api.example.com/a|b', '|b', 'the character "|"'],
      ['https://api.example.com/a\\b', '\\\\b', 'the character "\\\\"'],
      ['https://api.example.com/ä', 'ä', 'non-ASCII character "ä"'],
    ])('rejects %s', (url, needle, what) => {
      const text = urlFile(url);
      const errors = errorsOf(text);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ path: '/connectors/0/url', ...at(text, needle) });
      expect(errors[0]!.message).toContain(what);
    });
    it('rejects a literal placeholder in braces, suggesting pathParams', () => {
      expectUrlError('https://api.example.com/users/{id}', '{id}', /literal "\{": write path parameters as \{\{ pathParams\.name \}\}/);
    });
    it('rejects a stray percent sign', () => {
      expectUrlError('https://api.example.com/100%/x', '%/', /"%" that does not start a percent-encoding/);
    });
    it('rejects a control character', () => {
      const text = urlFile('https://api.example.com/a\tb');
      expectOnly(text, '/connectors/0/url', at(text, '\\tb'), /control character U\+0009/);
    });
  });

  describe('secrets', () => {
    it('rejects get_secret in the URL, pointing at the call', () => {
      expectUrlError("https://api.example.com/x?key={{ get_secret('api_key') }}", 'get_secret', /get_secret\(\) cannot be used in a URL.*header/);
    });
  });

  describe('the same rules apply to composite step URLs and token_url', () => {
    it('checks step urls', () => {
      const text = registry([], [{ name: 'C', steps: [{ name: 'a', url: 'http://10.0.0.1/x' }] }]);
      const errors = errorsOf(text);
      expect(errors.map((e) => [e.path, e.line, e.column])).toEqual([
        ['/composite_connectors/0/steps/0/url', ...Object.values(at(text, 'http://'))],
        ['/composite_connectors/0/steps/0/url', ...Object.values(at(text, '10.0.0.1'))],
      ]);
    });
    it('checks token_url', () => {
      const text = registry([connector({ authentication: { type: 'oauth_client_credentials', config: { client_id: 'x', client_secret: "{{ get_secret('s') }}", token_url: 'https://169.254.169.254/token' } } })]);
      expectOnly(text, '/connectors/0/authentication/config/token_url', at(text, '169.254'), /link-local/);
    });
  });
});
