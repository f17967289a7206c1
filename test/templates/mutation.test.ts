import { describe, expect, it } from 'vitest';
import { bytesValue, compileTemplate, profileFields, type TemplateField } from '../../src/templates/index.js';

/**
 * Mutating methods (`append`, `update`, `pop`, …) work as in Jinja2's SandboxedEnvironment, and no
 * render changes what another render sees: each case mutates one kind of context value the runtime
 * shares between requests, renders twice over the same objects, and checks the second render and
 * the objects themselves. (The golden corpus checks the methods' results against Jinja2.)
 */

/** A context shaped like the runtime's: every kind of value a template can be given. */
function sharedContext(): Record<string, unknown> {
  return Object.freeze({
    user: Object.freeze({ id: 7, email: 'ada@example.com', roles: ['admin'], profile_fields: profileFields({ '42': { name: 'Engineering' } }) }),
    tenant_id: 'acme',
    pathParams: { id: '42' },
    body_text: '{"a": 1}',
    body_raw: bytesValue(new TextEncoder().encode('raw')),
    response: { body: '{"items": [1, 2]}', status_code: 200, headers: { 'content-type': 'application/json' } },
    steps: { first: { response: { body: '[1]', status_code: 200, headers: {} }, data: { rows: [{ id: 1 }] } } },
    request: { query: { q: ['x'] }, headers: { accept: '*/*' } },
  });
}

const CASES: [string, TemplateField, string, string][] = [
  ['the session user', 'response_body', "{% set _ = user.update(email='mallory') %}{% set _ = user.roles.append('root') %}{{ user.email }} {{ user.roles }}", 'mallory [&#39;admin&#39;, &#39;root&#39;]'],
  ['a profile field', 'response_body', "{% set f = user.profile_fields.by_id(42) %}{% set _ = f.update(name='x') %}{{ user.profile_fields.by_id(42).name }}", 'x'],
  ['path parameters', 'url', "{% set _ = pathParams.update(id='0') %}{{ pathParams.id }}", '0'],
  ['the upstream response', 'response_body', "{% set _ = response.headers.clear() %}{% set _ = response.update(status_code=500) %}{{ response.status_code }} {{ response.headers }}", '500 {}'],
  ['a parsed body', 'response_body', "{% set d = response.body | from_json %}{% set _ = d['items'].pop() %}{{ d }}", '{&#39;items&#39;: [1]}'],
  ['composite steps', 'composite_response_body', "{% set _ = steps.first.data.rows.append({'id': 2}) %}{% set _ = steps.pop('first') %}{{ steps }}", '{}'],
  ['the composite request', 'composite_url', "{% set _ = request.query.q.insert(0, 'y') %}{{ request.query.q | join(',') }}", 'y,x'],
  ['the whole context at once', 'response_body', "{% for k in ['user', 'response'] %}{% set _ = (user if k == 'user' else response).clear() %}{% endfor %}{{ user }}{{ response }}", '{}{}'],
];

describe('mutating methods never change shared data', () => {
  for (const [what, field, template, output] of CASES) {
    it(`${what}: mutated inside the render, unchanged for the next one`, () => {
      const ctx = sharedContext();
      const before = JSON.stringify(ctx);
      const t = compileTemplate(template, field);
      for (let i = 0; i < 3; i++) expect(t.render({ vars: ctx })).toBe(output);
      expect(JSON.stringify(ctx)).toBe(before);
      const reader = compileTemplate(
        "{{ user.email }} {{ user.roles | join(',') }} {{ user.profile_fields.by_id(42).name }} {{ response.status_code }} {{ response.headers | length }} {{ steps.first.data.rows | length }}",
        'composite_response_body',
      );
      expect(reader.render({ vars: ctx })).toBe('ada@example.com admin Engineering 200 1 1');
    });
  }

  it('list and dict literals are built afresh at every evaluation, as in Python', () => {
    const t = compileTemplate("{% for i in range(2) %}{% set l = [] %}{% set d = {'n': []} %}{% set _ = l.append(i) %}{% set _ = d.n.append(i) %}{{ l }}{{ d }}{% endfor %}", 'header');
    for (let i = 0; i < 3; i++) expect(t.render({ vars: {} })).toBe("[0]{'n': [0]}[1]{'n': [1]}");
  });

  it('an alias sees the change, as in Python: one copy per value per render', () => {
    const ctx = { data: { rows: [1, 2] }, same: null as unknown };
    ctx.same = ctx.data.rows;
    const t = compileTemplate('{% set a = data.rows %}{% set _ = a.append(3) %}{{ data.rows }} {{ same }} {{ data.rows is sameas a }}', 'header');
    expect(t.render({ vars: ctx })).toBe('[1, 2, 3] [1, 2, 3] True');
    expect(ctx.data.rows).toEqual([1, 2]);
  });

  it('a method name computed at run time restarts the render on copies before anything changed', () => {
    const ctx = { rows: [1, 2] };
    const t = compileTemplate("before {% set m = 'app' ~ 'end' %}{{ rows[m](3) }} {{ rows }} after", 'header');
    expect(t.render({ vars: ctx })).toBe('before None [1, 2, 3] after');
    expect(t.render({ vars: ctx })).toBe('before None [1, 2, 3] after');
    expect(ctx.rows).toEqual([1, 2]);
  });

  it('a render that signs a JWT over mutated data signs the mutated data, pass after pass', async () => {
    const t = compileTemplate("{% set c = {'sub': user.email} %}{% set _ = c.update(n=1) %}{{ jwt_encode(c, 'k') }}", 'header');
    const plain = compileTemplate("{{ jwt_encode({'sub': user.email, 'n': 1}, 'k') }}", 'header');
    const ctx = sharedContext();
    expect(await t.renderAsync({ vars: ctx })).toBe(await plain.renderAsync({ vars: ctx }));
  });

  it('works on frozen context data (the runtime shares a frozen anonymous user)', () => {
    const t = compileTemplate("{% set _ = user.update(email='x') %}{{ user.email }}", 'header');
    expect(t.render({ vars: { user: Object.freeze({ email: null }) } })).toBe('x');
  });
});
