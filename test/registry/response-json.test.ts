import { describe, expect, it } from 'vitest';
import { isJsonMediaType, responseJsonProblem, responseJsonWarnings } from '../../src/registry/response-json.js';

/**
 * A JSON-typed response template is rendered once on a sample in the sandbox and its output
 * JSON-parsed: output that is no JSON is a warning naming the fix; output that is JSON, or a
 * template that cannot render the sample, is not reported.
 */

describe('response templates that render no JSON', () => {
  it('recognises JSON media types, with or without parameters and suffixes', () => {
    for (const t of ['application/json', 'application/json; charset=utf-8', 'text/json', 'application/problem+json', ' Application/JSON ']) expect(isJsonMediaType(t)).toBe(true);
    for (const t of ['text/plain', 'application/jsonp', 'text/html', '', 'application/x-ndjson']) expect(isJsonMediaType(t)).toBe(false);
  });

  it('a bare value prints its Python repr: the fix is | tojson', () => {
    const message = responseJsonProblem('{{ items }}', 'application/json', 'response_body')!;
    expect(message).toContain('which is not JSON');
    expect(message).toContain('&#39;id&#39;');
    expect(message).toContain('write {{ items | tojson }}');
    expect(responseJsonProblem('{{ response.body | from_json }}', 'application/json', 'response_body')).toContain('{{ response.body | from_json | tojson }}');
  });

  it('JSON text printed as a string is HTML-escaped: the fix is | safe (or re-serialise)', () => {
    const message = responseJsonProblem('{{ response.body }}', 'application/json', 'response_body')!;
    expect(message).toContain('HTML-escaped');
    expect(message).toContain('{{ response.body | safe }}');
  });

  it('a template that renders nothing on a 200 says so', () => {
    expect(responseJsonProblem("{% if response.status_code == 404 %}{{ {'e': 1} | tojson }}{% endif %}", 'application/json', 'response_body')).toContain('renders nothing');
  });

  it('JSON output, other content types, empty templates and templates the sample cannot render are not reported', () => {
    const quiet = [
      '{{ response.body | from_json | tojson }}',
      "{% set d = response.body | from_json %}{{ {'rows': d['items'], 'n': d['items'] | length} | tojson }}",
      '{"name": "{{ (response.body | from_json).name }}"}',
      "{{ {'user': user.email, 'tenant': tenant_id} | tojson }}",
      "{{ data['x']['y'] }}",
      '{{ response.body | safe }}',
    ];
    for (const t of quiet) expect(responseJsonProblem(t, 'application/json', 'response_body'), t).toBeUndefined();
    expect(responseJsonProblem('{{ items }}', 'text/plain', 'response_body')).toBeUndefined();
    expect(responseJsonProblem('', 'application/json', 'response_body')).toBeUndefined();
  });

  it('finds every such template of a file, composite steps included, at the position of its response_body', () => {
    const text = `${JSON.stringify({
      connectors: [
        { name: 'A', url: 'https://a.example.com', response_content_type: 'application/json', response_body: '{{ response.body | from_json | tojson }}' },
        { name: 'B', url: 'https://b.example.com', response_content_type: 'application/json', response_body: '{{ items }}' },
      ],
      composite_connectors: [{ name: 'C', steps: [{ name: 's', url: 'https://c.example.com', response_content_type: 'application/json', response_body: '{{ steps }}x' }] }],
    }, null, 2)}\n`;
    const warnings = responseJsonWarnings(text, 'file');
    expect(warnings.map((w) => w.path)).toEqual(['/connectors/1/response_body', '/composite_connectors/0/steps/0/response_body']);
    const lines = text.split('\n');
    expect(lines[warnings[0]!.line - 1]!.slice(warnings[0]!.column - 1)).toMatch(/^"\{\{ items \}\}"/);
    const one = responseJsonWarnings(JSON.stringify({ name: 'B', url: 'https://b.example.com', response_content_type: 'application/json', response_body: '{{ rows }}' }), 'connector');
    expect(one).toEqual([expect.objectContaining({ path: '/response_body', line: 1 })]);
  });
});
