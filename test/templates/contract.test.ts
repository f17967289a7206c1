import { generateKeyPairSync } from 'node:crypto';
import { compactVerify, importSPKI, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import {
  bytesValue, compileTemplate, JwtSigningError, profileFields, TEMPLATE_FIELDS, TemplateError, type TemplateField,
} from '../../src/templates/index.js';

/** The public contract of src/templates (PLAN.md "Templates (A)"): compile-time facts, checks and rendering. */

function compileError(source: string, field: TemplateField): TemplateError {
  try {
    compileTemplate(source, field);
  } catch (err) {
    expect(err).toBeInstanceOf(TemplateError);
    return err as TemplateError;
  }
  throw new Error(`expected ${JSON.stringify(source)} to fail in ${field}`);
}

describe('availability matrix', () => {
  // What each field may use: docs/templates.md#fields-escaping-and-what-is-available.
  const Y = true;
  const N = false;
  const matrix: Record<string, Partial<Record<TemplateField, boolean>>> = {
    "get_secret('x')": { url: N, header: Y, query: Y, auth: Y, request_body: N, response_body: N, composite_url: N, composite_request_body: N, composite_header: Y, composite_query: Y, composite_auth: Y, composite_response_body: N },
    "get_variable('x')": { url: Y, header: Y, query: Y, auth: Y, request_body: N, response_body: N, composite_url: Y, composite_request_body: Y, composite_header: Y, composite_query: Y, composite_auth: Y, composite_response_body: Y },
    "jwt_encode({}, 'k', 'HS256')": { url: Y, header: Y, query: Y, auth: Y, request_body: Y, response_body: N, composite_url: Y, composite_request_body: Y, composite_header: Y, composite_query: Y, composite_auth: Y, composite_response_body: N },
    'now()': Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, Y])),
    'user.email': Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, Y])),
    tenant_id: Object.fromEntries(TEMPLATE_FIELDS.map((f) => [f, Y])),
    body_text: { url: N, header: N, query: N, auth: N, request_body: Y, response_body: N, composite_request_body: N },
    body_raw: { url: N, header: N, query: N, auth: N, request_body: Y, response_body: N },
    'response.body': { url: N, header: N, query: N, auth: N, request_body: N, response_body: Y, composite_response_body: Y, composite_header: N },
    'response.status_code': { response_body: Y, request_body: N },
    'pathParams.id': { url: Y, header: N, query: N, auth: N, request_body: N, response_body: N, composite_url: N },
    'steps.a.body': { composite_url: Y, composite_header: Y, composite_query: Y, composite_auth: Y, composite_request_body: Y, composite_response_body: Y, url: N, response_body: N },
    'request.body_text': { composite_url: Y, composite_request_body: Y, composite_header: Y, composite_response_body: Y, request_body: N, header: N },
  };
  for (const [expr, fields] of Object.entries(matrix)) {
    for (const [field, allowed] of Object.entries(fields) as [TemplateField, boolean][]) {
      it(`${expr} in ${field}: ${allowed ? 'allowed' : 'refused'}`, () => {
        const source = `x {{ ${expr} }}`;
        if (allowed) expect(() => compileTemplate(source, field)).not.toThrow();
        else {
          const e = compileError(source, field);
          expect(e.kind).toBe('availability');
          expect(e.line).toBe(1);
          expect(e.column).toBe(6);
          expect(e.message).toMatch(/not available in/);
        }
      });
    }
  }

  it('reports the position of the offending call on later lines', () => {
    const e = compileError('{\n  "a": 1,\n  "k": "{{ get_secret(\'api\') }}"\n}', 'request_body');
    expect([e.kind, e.line, e.column]).toEqual(['availability', 3, 12]);
  });

  it('lets template-local names shadow context names', () => {
    expect(() => compileTemplate('{% set response = 1 %}{{ response }}', 'header')).not.toThrow();
    expect(() => compileTemplate('{% for body_text in [1] %}{{ body_text }}{% endfor %}', 'url')).not.toThrow();
    expect(() => compileTemplate('{% macro m(steps) %}{{ steps }}{% endmacro %}{{ m(1) }}', 'header')).not.toThrow();
    // but only after the binding, and only inside its scope
    expect(compileError('{{ response }}{% set response = 1 %}', 'header').kind).toBe('availability');
    expect(compileError('{% for response in [1] %}{% endfor %}{{ response }}', 'header').kind).toBe('availability');
  });

  it('requires a quoted literal name for get_secret / get_variable', () => {
    for (const src of ["{{ get_secret(name) }}", "{{ get_secret('a' ~ 'b') }}", '{{ get_secret() }}', "{{ get_secret('a', 'b') }}",
      '{% set f = get_secret %}{{ f("x") }}', "{{ get_variable(name='x') }}", "{{ [get_secret][0]('x') }}"]) {
      const e = compileError(src, 'header');
      expect(e.kind, src).toBe('availability');
      expect(e.message).toMatch(/quoted literal name/);
    }
  });

  it('rejects unknown filters and tests at compile time', () => {
    expect(compileError('{{ x | nope }}', 'header').message).toBe("No filter named 'nope'.");
    expect(compileError('{{ x is nope }}', 'header').message).toBe("No test named 'nope'.");
  });

  it('rejects an unknown field name', () => {
    expect(() => compileTemplate('x', 'body' as TemplateField)).toThrow(TypeError);
  });
});

describe('compile-time facts', () => {
  it('collects secret and variable names, pathParams keys, user and async use', () => {
    const t = compileTemplate(
      "{{ get_secret('a') }}{{ get_secret('b') }}{{ get_secret('a') }}{{ get_variable('v') }}{{ user.id }}{{ jwt_encode({}, get_secret('k')) }}",
      'header',
    );
    expect(t.secretNames).toEqual(['a', 'b', 'k']);
    expect(t.variableNames).toEqual(['v']);
    expect(t.referencesUser).toBe(true);
    expect(t.usesAsync).toBe(true);
    expect(t.isLiteral).toBe(false);
    const u = compileTemplate("https://x/{{ pathParams.idea_id }}/{{ pathParams['b'] }}", 'url');
    expect(u.pathParamNames).toEqual(['idea_id', 'b']);
    expect(u.referencesUser).toBe(false);
    expect(compileTemplate('{% set user = 1 %}{{ user }}', 'header').referencesUser).toBe(false);
  });

  it('marks literals and renders them as the source', () => {
    const t = compileTemplate('application/json; charset=utf-8', 'header');
    expect(t.isLiteral).toBe(true);
    expect(t.render({ vars: {} })).toBe('application/json; charset=utf-8');
    // Jinja2 drops one trailing newline: such a source is not returned verbatim
    const n = compileTemplate('text\n', 'response_body');
    expect(n.isLiteral).toBe(false);
    expect(n.render({ vars: {} })).toBe('text');
  });

  it('sets autoescape per field: request_body and response_body only', () => {
    for (const f of TEMPLATE_FIELDS) {
      expect(compileTemplate('{{ x }}', f).autoescape, f).toBe(f.endsWith('request_body') || f.endsWith('response_body'));
    }
    expect(compileTemplate('{{ x }}', 'header').render({ vars: { x: 'a&b<c>' } })).toBe('a&b<c>');
    expect(compileTemplate('{{ x }}', 'response_body').render({ vars: { x: 'a&b<c>' } })).toBe('a&amp;b&lt;c&gt;');
  });

  it('compiles once per (field, source)', () => {
    const a = compileTemplate('{{ 1 + 1 }}', 'header');
    expect(compileTemplate('{{ 1 + 1 }}', 'header')).toBe(a);
    expect(compileTemplate('{{ 1 + 1 }}', 'query')).not.toBe(a);
  });
});

describe('errors', () => {
  it('gives syntax errors 1-based positions', () => {
    const e = compileError('line one\n{% if x %}\n  {{ x + }}\n{% endif %}', 'response_body');
    expect([e.kind, e.line, e.column]).toEqual(['syntax', 3, 10]);
    expect(e.describe()).toBe("3:10: unexpected 'end of print statement'");
    const eof = compileError('{% for x in y %}\n{{ x }}', 'response_body');
    expect(eof.message).toMatch(/Jinja was looking for the following tags: 'endfor' or 'else'/);
  });

  it('gives runtime errors the position of the failing expression', () => {
    const t = compileTemplate('{% set d = {} %}\n\n   {{ d.a.b }}', 'response_body');
    try {
      t.render({ vars: {} });
      throw new Error('no error');
    } catch (err) {
      const e = err as TemplateError;
      expect([e.kind, e.line, e.column, e.message]).toEqual(['runtime', 3, 10, "'dict object' has no attribute 'a'"]);
    }
  });

  it('stops at the output cap', () => {
    const t = compileTemplate("{% for i in range(20000) %}{{ 'x' * 100 }}{% endfor %}", 'response_body');
    expect(() => t.render({ vars: {} })).toThrow(/output is too large/);
  });
});

describe('unknown secret or variable names', () => {
  const secrets = new Map([['known', 's3']]);
  it('leaves the original expression text', () => {
    expect(compileTemplate("Bearer {{ get_secret('nope') }}", 'header').render({ vars: {}, secrets })).toBe("Bearer {{ get_secret('nope') }}");
    expect(compileTemplate("Bearer {{get_secret( 'nope' )}} {{ get_secret('known') }}", 'header').render({ vars: {}, secrets })).toBe(
      "Bearer {{get_secret( 'nope' )}} s3",
    );
    expect(compileTemplate("{{ get_variable('h') }}.example.com", 'url').render({ vars: {} })).toBe("{{ get_variable('h') }}.example.com");
    expect(compileTemplate("{{ 'Bearer ' ~ get_secret('nope') }}", 'header').render({ vars: {} })).toBe("Bearer {{ get_secret('nope') }}");
  });

  it('is replaced by default(), as the reference\'s templated-host fallback needs', () => {
    const t = compileTemplate("https://{{ get_variable('host') | default('app.example.com', true) }}/v2", 'url');
    expect(t.render({ vars: {} })).toBe('https://app.example.com/v2');
    expect(t.render({ vars: {}, variables: new Map([['host', 'eu.example.com']]) })).toBe('https://eu.example.com/v2');
    expect(compileTemplate("{{ get_secret('nope') is defined }}", 'header').render({ vars: {} })).toBe('False');
  });
});

describe('values from the runtime', () => {
  it('renders body_raw as Python bytes and profile fields by id', () => {
    const t = compileTemplate('{{ body_raw }} {{ user.profile_fields.by_id(42) }} {{ user.profile_fields.by_id(1) }}', 'request_body');
    const out = t.render({
      vars: { body_raw: bytesValue(Buffer.from("it's\n\xff", 'latin1')), user: { profile_fields: profileFields({ '42': 'Eng' }) } },
    });
    expect(out).toBe('b&#34;it&#39;s\\n\\xff&#34; Eng None');
  });

  it('keeps 19-digit ids and float-ness exact through from_json', () => {
    const t = compileTemplate('{% set d = body | from_json %}{{ d.id }} {{ d.id + 1 }} {{ d.f }} {{ d | tojson }}', 'response_body');
    expect(t.render({ vars: { body: '{"id": 1234567890123456789, "f": 10.0}' } })).toBe(
      '1234567890123456789 1234567890123456790 10.0 {"f": 10.0, "id": 1234567890123456789}',
    );
  });

  it('freezes now() to the context', () => {
    expect(compileTemplate('{{ now() }} {{ now(3600) }} {{ now(-1.5) }}', 'header').render({ vars: {}, now: 1700000000.9 })).toBe(
      '1700000000 1700003600 1699999998.5',
    );
  });
});

describe('jwt_encode (jose)', () => {
  const claims = "{'sub': user.email, 'exp': now(3600)}";
  it('is async: render() refuses, renderAsync() signs like PyJWT', async () => {
    const t = compileTemplate(`Bearer {{ jwt_encode(${claims}, get_secret('k'), 'HS256', {'kid': 'my-key'}) }}`, 'header');
    expect(t.usesAsync).toBe(true);
    expect(() => t.render({ vars: {} })).toThrow(/renderAsync/);
    const out = await t.renderAsync({ vars: { user: { email: 'a@b.c' } }, secrets: new Map([['k', 'secret']]), now: 1700000000 });
    const token = out.replace('Bearer ', '');
    const [h, p] = token.split('.');
    expect(Buffer.from(h!, 'base64url').toString()).toBe('{"alg":"HS256","kid":"my-key","typ":"JWT"}');
    expect(Buffer.from(p!, 'base64url').toString()).toBe('{"sub":"a@b.c","exp":1700003600}');
    const verified = await jwtVerify(token, new TextEncoder().encode('secret'), { currentDate: new Date(1700000000 * 1000) });
    expect(verified.payload).toEqual({ sub: 'a@b.c', exp: 1700003600 });
  });

  it('signs RS256 with a PEM key and several tokens in one template', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const t = compileTemplate("{{ jwt_encode({'n': 1}, get_secret('pk'), 'RS256') }}|{{ jwt_encode({'n': 2}, get_secret('pk'), 'RS256') }}", 'auth');
    const out = await t.renderAsync({ vars: {}, secrets: new Map([['pk', pem]]) });
    const [a, b] = out.split('|');
    const key = await importSPKI(publicKey.export({ type: 'spki', format: 'pem' }).toString(), 'RS256');
    expect(JSON.parse(new TextDecoder().decode((await compactVerify(a!, key)).payload))).toEqual({ n: 1 });
    expect(JSON.parse(new TextDecoder().decode((await compactVerify(b!, key)).payload))).toEqual({ n: 2 });
  });

  it('reports a signing failure as JwtSigningError at the call', async () => {
    const t = compileTemplate("x\n  {{ jwt_encode({'a': 1}, 'not a pem key', 'RS256') }}", 'auth');
    const err = await t.renderAsync({ vars: {} }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JwtSigningError);
    expect([(err as TemplateError).line, (err as TemplateError).column]).toEqual([2, 6]);
    expect((err as Error).message).not.toContain('not a pem key');
  });

  it('renders templates without jwt_encode synchronously through renderAsync too', async () => {
    await expect(compileTemplate('{{ 1 }}', 'header').renderAsync({ vars: {} })).resolves.toBe('1');
  });
});

describe('secrets in error messages', () => {
  it('are redacted when a secret value ends up quoted in an error', () => {
    const t = compileTemplate("{{ {}[get_secret('k')].x }}", 'header');
    let message = '';
    try {
      t.render({ vars: {}, secrets: new Map([['k', 'sk_live_abcdef']]) });
    } catch (err) {
      expect(err).toBeInstanceOf(TemplateError);
      message = (err as Error).message;
    }
    expect(message).toBe("'dict object' has no attribute '***'");
  });
});

describe('limits leave legitimate work alone', () => {
  it('reshapes 10 000 items with the namespace-append idiom', () => {
    const body = JSON.stringify({ items: Array.from({ length: 10000 }, (_, i) => ({ id: i, name: `n${i}`, on: i % 2 === 0 })) });
    const t = compileTemplate(
      "{% set data = response.body | from_json %}{% set ns = namespace(out=[]) %}{% for x in data['items'] if x.on %}{% set ns.out = ns.out + [{'id': x.id, 'name': x.name}] %}{% endfor %}{{ ns.out | length }} {{ ns.out[-1] | tojson }}",
      'response_body',
    );
    expect(t.render({ vars: { response: { body } } })).toBe('5000 {"id": 9998, "name": "n9998"}');
  });

  it('renders a 10 MB response through from_json and tojson', () => {
    const body = JSON.stringify({ rows: Array.from({ length: 60000 }, (_, i) => ({ id: i, text: 'x'.repeat(150) })) });
    expect(body.length).toBeGreaterThan(9_000_000);
    const t = compileTemplate("{% set d = response.body | from_json %}{{ d.rows | length }} {{ d.rows[59999].id }}", 'response_body');
    expect(t.render({ vars: { response: { body } } })).toBe('60000 59999');
  });
});
