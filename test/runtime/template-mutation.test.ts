import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { SeenRequest, TestUpstream } from '../support/upstream.js';
import { startRuntimeTest, type Harness } from './harness.js';

/**
 * Templates may change lists and dicts (`append`, `update`, `pop`, …) as in Jinja2, but only inside
 * their own render: the next request — through the same compiled templates, the same process, and
 * the response cache's stored upstream answer — sees the data as it was. The templates below mutate
 * what they are given (the session user or the shared anonymous one, the upstream body, status and
 * headers, list and dict literals) and print it before and after.
 */
describe('template mutation stays inside one render (execute route, real upstream)', () => {
  let h: Harness;
  let up: TestUpstream;
  const UPSTREAM_BODY = '{"items": [1, 2], "meta": {"n": 1}}';

  const RESPONSE_TEMPLATE = [
    "before: {{ user.email }} {{ response.body }} {{ response.status_code }} {{ response.headers['x-added'] | default('-') }}",
    '{%- set d = response.body | from_json %}',
    "{%- set _ = d['items'].append(3) %}",
    "{%- set _ = d.meta.update(n=d.meta.n + 1) %}",
    "{%- set _ = response.headers.update({'x-added': 'yes'}) %}",
    "{%- set _ = response.update(status_code=599, body='replaced') %}",
    "{%- set _ = user.update(email='mallory@example.com') %}",
    "{%- set _ = user.pop('first_name') %}",
    "\nafter: {{ d['items'] }} {{ d.meta.n }} {{ response.status_code }} {{ response.body }} {{ response.headers['x-added'] }} {{ user.email }} {{ user.first_name is defined }}",
  ].join('');

  const connector = (name: string, path: string) => ({
    name,
    url: `${up.url}${path}`,
    method: 'GET',
    headers: [{ key: 'X-Literal', value: "{% set d = {'a': 1} %}{{ d.update(b=2) }}/{{ d | length }}", overridable: false }],
    query_parameters: [{ key: 'n', value: '{% set l = [1] %}{% set _ = l.append(2) %}{{ l | length }}', overridable: false }],
    response_body: RESPONSE_TEMPLATE,
  });

  beforeAll(async () => {
    ({ h, up } = await startRuntimeTest());
    await h.createConnector('acme', connector('Mutating Live', '/live'));
    await h.createConnector('acme', connector('Mutating Cached', '/cached'));
  });
  afterAll(async () => {
    await h?.close();
    await up?.close();
  });
  beforeEach(() => {
    up.reset();
    up.route('/live', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(UPSTREAM_BODY);
    });
    up.route('/cached', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'public, max-age=600' });
      res.end(UPSTREAM_BODY);
    });
  });

  const expected = (email: string) =>
    `before: ${email} {&#34;items&#34;: [1, 2], &#34;meta&#34;: {&#34;n&#34;: 1}} 200 -\n` +
    `after: [1, 2, 3] 2 599 replaced yes mallory@example.com False`;
  const seen = (path: string): SeenRequest[] => up.requests.filter((r) => r.path === path);

  it('in one process: every request renders from the original data, anonymous (a shared user) or signed in', async () => {
    const token = await h.session({ email: 'jo@example.com' });
    for (let round = 0; round < 3; round++) {
      const anon = await h.exec('mutating-live');
      expect(anon.status).toBe(200);
      expect(anon.text).toBe(expected('None'));
      const signed = await h.exec('mutating-live', { token });
      expect(signed.text).toBe(expected('jo@example.com'));
    }
    const sent = seen('/live');
    expect(sent).toHaveLength(6);
    // the literals the header and query templates mutate are built afresh for every render
    expect(sent.map((r) => r.headers['x-literal'])).toEqual(Array.from({ length: 6 }, () => 'None/2'));
    expect(sent.map((r) => r.query.get('n'))).toEqual(Array.from({ length: 6 }, () => '2'));
  });

  it('across the response cache: a hit renders the stored upstream answer as it arrived', async () => {
    const first = await h.exec('mutating-cached');
    expect(first.headers.get('x-cache')).toBe('MISS');
    expect(first.text).toBe(expected('None'));
    for (let i = 0; i < 3; i++) {
      const hit = await h.exec('mutating-cached');
      expect(hit.headers.get('x-cache')).toBe('HIT');
      expect(hit.text).toBe(expected('None'));
    }
    const signed = await h.exec('mutating-cached', { token: await h.session({ email: 'jo@example.com' }) });
    expect(signed.text).toBe(expected('jo@example.com'));
    expect(seen('/cached')).toHaveLength(1);
  });
});
