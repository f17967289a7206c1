import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { flushTestRedis } from '../support/redis.js';
import { startTestService, TEST_ADMIN_TOKEN, type TestService } from '../support/service.js';

/** `gatehouse render` and `POST /admin/v1/templates/render` (docs/templates.md#trying-a-template). */

function sink(): { stream: Writable; text: () => string } {
  let buf = '';
  return {
    stream: new Writable({
      write(chunk, _enc, cb) {
        buf += String(chunk);
        cb();
      },
    }),
    text: () => buf,
  };
}

async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, { stdout: out.stream, stderr: err.stream });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('gatehouse render', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gatehouse-render-'));
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const context = file('context.json', JSON.stringify({
    response: { body: '{"items": [{"id": 1, "name": "<a>"}]}', status_code: 200, headers: {} },
    user: { email: 'ada@example.com', profile_fields: { '42': 'Eng' } },
    body_raw: 'raw',
  }));

  it('prints the output (default field response_body, autoescaped)', async () => {
    const tpl = file('ok.j2', '{% set d = response.body | from_json %}{{ d["items"][0].name }}|{{ d["items"] | map(attribute="id") | list | tojson }}\n');
    const r = await runCli(['render', '--template', tpl, '--context', context]);
    expect(r).toEqual({ code: 0, stdout: '&lt;a&gt;|[1]', stderr: '' });
  });

  it('uses --field for the functions available and escaping', async () => {
    const tpl = file('hdr.j2', "Bearer {{ get_secret('token') }} {{ user.email }} {{ user.profile_fields.by_id(42) }} {{ '<x>' }}");
    const r = await runCli(['render', '--template', tpl, '--context', context, '--field', 'header']);
    expect(r).toEqual({ code: 0, stdout: "Bearer {{ get_secret('token') }} ada@example.com Eng <x>", stderr: '' });
    const body = file('body.j2', '{{ body_raw }}');
    expect((await runCli(['render', '--template', body, '--context', context, '--field', 'request_body'])).stdout).toBe('b&#39;raw&#39;');
  });

  it('exits 1 with LINE:COL: message on a template error', async () => {
    const tpl = file('bad.j2', 'line\n{{ user.email | nope }}');
    expect(await runCli(['render', '--template', tpl, '--context', context])).toEqual({
      code: 1,
      stdout: '',
      stderr: "2:17: No filter named 'nope'.\n",
    });
    const unavailable = file('secret.j2', "{{ get_secret('x') }}");
    const r = await runCli(['render', '--template', unavailable, '--context', context]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^1:4: get_secret\(\) is not available in response body templates/);
    const runtime = file('rt.j2', '\n\n  {{ 1 // 0 }}');
    expect((await runCli(['render', '--template', runtime, '--context', context])).stderr).toBe('3:8: integer division or modulo by zero\n');
  });

  it('rejects bad arguments and bad context files', async () => {
    const tpl = file('x.j2', '{{ 1 }}');
    expect((await runCli(['render', '--template', tpl])).code).toBe(2);
    const badField = await runCli(['render', '--template', tpl, '--context', context, '--field', 'body']);
    expect(badField.code).toBe(2);
    expect(badField.stderr).toMatch(/--field must be one of url, header, query, auth, request_body, response_body/);
    const notJson = await runCli(['render', '--template', tpl, '--context', file('bad.json', '{nope')]);
    expect(notJson.code).toBe(1);
    expect(notJson.stderr).toMatch(/is not valid JSON/);
    const list = await runCli(['render', '--template', tpl, '--context', file('list.json', '[1]')]);
    expect(list).toMatchObject({ code: 1, stderr: 'gatehouse render: the context must be a JSON object whose keys are the template variables\n' });
    expect((await runCli(['render', '--template', join(dir, 'missing.j2'), '--context', context])).code).toBe(1);
  });
});

describe('POST /admin/v1/templates/render', () => {
  let svc: TestService;
  const post = (body: unknown, token = TEST_ADMIN_TOKEN) =>
    fetch(`${svc.url}/admin/v1/templates/render`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    await flushTestRedis();
    svc = await startTestService();
  });
  afterAll(async () => svc.close());

  it('renders with the context keys as variables (200 {output})', async () => {
    const res = await post({
      template: '{% for x in items if x.on %}{{ x.n }}{% if not loop.last %},{% endif %}{% endfor %} {{ none }} {{ 10 / 4 }}',
      context: { items: [{ n: 'a', on: true }, { n: 'b', on: false }, { n: 'c&d', on: true }] },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ output: 'a,c&amp;d None 2.5' });
  });

  it('takes the field into account', async () => {
    const res = await post({ template: "{{ get_variable('host') | default('app.example.com', true) }}/{{ '<' }}", context: {}, field: 'url' });
    expect(await res.json()).toEqual({ output: 'app.example.com/<' });
    const jwt = await post({ template: "{{ jwt_encode({'a': 1}, 'k', 'HS256') }}", field: 'auth' });
    expect(jwt.status).toBe(200);
    expect(((await jwt.json()) as { output: string }).output).toMatch(/^eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9\.eyJhIjoxfQ\./);
  });

  it('answers 422 TEMPLATE_ERROR with line and column', async () => {
    const res = await post({ template: 'ok\n  {{ x.y.z }}', context: { x: {} } });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({ error: { code: 'TEMPLATE_ERROR', message: "'dict object' has no attribute 'y'", line: 2, column: 9 } });
    const syntax = await post({ template: '{% if %}', context: {} });
    expect(await syntax.json()).toEqual({
      error: { code: 'TEMPLATE_ERROR', message: "Expected an expression, got 'end of statement block'", line: 1, column: 7 },
    });
    const availability = await post({ template: "{{ get_secret('k') }}", field: 'response_body' });
    expect(availability.status).toBe(422);
  });

  it('validates the request and requires the admin token', async () => {
    expect((await post({ context: {} })).status).toBe(400);
    expect((await post({ template: 'x', field: 'body' })).status).toBe(400);
    expect((await post({ template: 'x', context: [1] })).status).toBe(400);
    expect((await post({ template: 'x' }, 'wrong-token')).status).toBe(403);
  });
});
